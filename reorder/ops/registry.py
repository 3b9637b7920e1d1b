"""The one registry of kernels, keyed by (concrete op type, backend), and the stage kernels.

Two levels, both filled by the op family modules next to the code they register:

- An *op kernel* applies one concrete op. It is registered per (op type, backend) as a
  chooser: a function of the op and its input spec that returns the `Branch` (code path)
  the backend takes there, decided from sizes alone, or None where that backend does not
  do the op as the reference does (the stage then runs the reference for it). Backend
  `REFERENCE` is the user's own library and applies everywhere. This is the pattern of
  torchvision v2's `_register_kernel_internal` / `_get_kernel`, per backend.
- A *stage kernel* (`Kernel`) is what a stage of a physical plan names: a list of
  backends tried op by op (`per_op_kernel`), or a fused kernel over several ops (one box
  resample, one table lookup).

Each registered cost class comes with a `CostProbe`, so the cost model calibrates every
class a kernel can report without knowing the kernels.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec

REFERENCE = "reference"  # the backend (and the stage kernel) that runs the user's library


class Container(enum.Enum):
    """What a kernel reads."""

    PIL = "pil"
    ARRAY = "array"  # HWC (or HW) uint8 numpy
    ORIGINAL = "original"  # whatever the original has at that point (PIL, array or tensor)


@dataclass(frozen=True)
class Branch:
    """One code path of an op kernel."""

    name: str
    run: Callable[[Any, Any], Any]  # (image, op) -> image
    takes: Container
    # Whether its output differs from the reference's beyond rounding: the runtime runs
    # it only where verification saw it (see ir.envelope).
    approximate: bool = False
    cost: str = REFERENCE  # its cost class, a key of COST_PROBES


Chooser = Callable[[Any, ImageSpec], "Branch | None"]
OP_KERNELS: dict[tuple[type, str], Chooser] = {}


def register_op_kernel(op_type: type, backend: str) -> Callable[[Chooser], Chooser]:
    """Register a chooser as `backend`'s kernel for `op_type`."""

    def add(chooser: Chooser) -> Chooser:
        if (op_type, backend) in OP_KERNELS:
            raise ValueError(f"{op_type.__name__} already has a {backend!r} kernel")
        OP_KERNELS[(op_type, backend)] = chooser
        return chooser

    return add


def register_reference(
    op_type: type, cost: str = REFERENCE
) -> Callable[[Callable[[Any, Any], Any]], Callable[[Any, Any], Any]]:
    """Register `fn(image, op)` as what the original runs for `op_type` (exact)."""

    def add(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        branch = Branch(REFERENCE, fn, Container.ORIGINAL, cost=cost)
        register_op_kernel(op_type, REFERENCE)(lambda op, spec: branch)
        return fn

    return add


def branch_for(op: ConcreteOp, spec: ImageSpec, backends: Sequence[str]) -> Branch:
    """The branch the first of `backends` that does `op` on `spec` takes; else the
    reference's."""
    for backend in backends:
        chooser = OP_KERNELS.get((type(op), backend))
        if chooser is not None and (branch := chooser(op, spec)) is not None:
            return branch
    return OP_KERNELS[(type(op), REFERENCE)](op, spec)


def op_types_on(backend: str) -> list[str]:
    """The names of the op types `backend` has a kernel for."""
    return sorted(op_type.__name__ for op_type, name in OP_KERNELS if name == backend)


def runs_on(op_type: type, backend: str) -> bool:
    """Whether `backend` has a kernel registered for `op_type`."""
    return (op_type, backend) in OP_KERNELS


def apply_reference(img: Any, ops: Sequence[ConcreteOp]) -> Any:
    """Each op through the user's library, as the original runs it."""
    for op in ops:
        img = OP_KERNELS[(type(op), REFERENCE)](op, ImageSpec(1, 1)).run(img, op)
    return img


def array_spec(arr: np.ndarray) -> ImageSpec:
    return ImageSpec(arr.shape[1], arr.shape[0], 1 if arr.ndim == 2 else arr.shape[2])


# -- stage kernels -----------------------------------------------------------------------

# (ops, spec, min_shrink) -> the DCT reduction the source may be decoded at when this
# kernel runs first (1: it needs every source pixel).
ReduceFactor = Callable[[Sequence[ConcreteOp], ImageSpec, float], int]
# (ops, spec, source) -> the approximate branches it takes on `ops` drawn for `spec`, from
# pixels of size `source` (a reduced decode is smaller than the spec), from sizes alone.
Branches = Callable[[Sequence[ConcreteOp], ImageSpec, ImageSpec], tuple[str, ...]]


@dataclass(frozen=True)
class Kernel:
    name: str
    run: Callable[[Any, Sequence[ConcreteOp], ImageSpec, int], Any]  # (img, ops, spec, factor)
    takes: Container
    reduce_factor: ReduceFactor
    summary: str
    cost_key: Callable[[ConcreteOp, ImageSpec], str]  # the cost class of one op
    branches: Branches
    backends: tuple[str, ...] = ()  # the per-op backends it tries, in order


KERNELS: dict[str, Kernel] = {}


def register_kernel(kernel: Kernel) -> Kernel:
    if kernel.name in KERNELS:
        raise ValueError(f"a stage kernel {kernel.name!r} is already registered")
    KERNELS[kernel.name] = kernel
    return kernel


def full_resolution(ops: Sequence[ConcreteOp], spec: ImageSpec, min_shrink: float) -> int:
    return 1


def per_op_kernel(
    name: str, backends: tuple[str, ...], summary: str, reduce_factor: ReduceFactor
) -> Kernel:
    """A stage kernel that runs each op with the first of `backends` that does it there,
    else with the reference (on a PIL image, for the array backends)."""

    def run(img: Any, ops: Sequence[ConcreteOp], spec: ImageSpec, factor: int) -> Any:
        for op in ops:
            if not backends:
                img = branch_for(op, spec, ()).run(img, op)
                continue
            branch = branch_for(op, array_spec(img), backends)
            if branch.takes is Container.ARRAY:
                img = branch.run(img, op)
            else:  # these backends serve PIL pipelines: the reference runs on PIL
                img = np.asarray(branch.run(Image.fromarray(img), op))
        return img

    def branches(ops: Sequence[ConcreteOp], spec: ImageSpec, source: ImageSpec) -> tuple[str, ...]:
        taken = []
        for op in ops:
            branch = branch_for(op, source, backends)
            if branch.approximate:
                taken.append(branch.name)
            source = op.output_spec(source)
        return tuple(taken)

    takes = Container.ARRAY if backends else Container.ORIGINAL
    return Kernel(
        name,
        run,
        takes,
        reduce_factor,
        summary,
        lambda op, spec: branch_for(op, spec, backends).cost,
        branches,
        backends,
    )


# -- cost classes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """The scene every cost class is measured on, in each container."""

    pil: Image.Image
    array: np.ndarray
    spec: ImageSpec


@dataclass(frozen=True)
class CostProbe:
    """How to measure one cost class: a call on the calibration scene, and the pixels it
    touches (input + output) as a multiple of the scene's."""

    call: Callable[[Calibration], object]
    touched: float


COST_PROBES: dict[str, CostProbe] = {}


def register_cost(name: str, call: Callable[[Calibration], object], touched: float) -> None:
    if name in COST_PROBES:
        raise ValueError(f"cost class {name!r} is already registered")
    COST_PROBES[name] = CostProbe(call, touched)
