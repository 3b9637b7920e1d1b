"""Cost model: pixels touched per stage x per-kernel cost calibrated on this machine.

It only has to rank candidates well enough that the few worth timing are among the top;
the timing harness decides. The dominant term on large JPEGs is decoding, so decode costs
are calibrated per DCT scale. The estimate walks the plan with the runtime's own
interpreter, over sizes instead of pixels, so it sees the draws, the decode factor and
the kernels the runtime would run.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from reorder.ir import ConcreteOp, ImageSpec, LogicalPipeline, PhysicalPlan
from reorder.ir.physical import FAST_DECODER
from reorder.ops import COST_PROBES, Kernel
from reorder.ops.decode import LOADERS, decode_jpeg
from reorder.ops.registry import Calibration
from reorder.rng import preserved_rng
from reorder.runtime import Call, Executor, JpegSource
from reorder.runtime.sources import reads_pil
from reorder.samples import make_scene

_FACTORS = (1, 2, 4, 8)


def _ns_per_px(fn: Callable[[], object], pixels: float, repeats: int = 5) -> float:
    fn()
    best = min(_elapsed(fn) for _ in range(repeats))
    return best * 1e9 / pixels


def _elapsed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass(frozen=True)
class CostModel:
    kernel_ns: dict[str, float]  # per input + output pixel, by cost class
    decode_ns: dict[tuple[str, int], float]  # per source pixel, by (backend, DCT factor)
    convert_ns: float  # PIL <-> array, per pixel

    def estimate_ms(
        self, plan: PhysicalPlan, pipeline: LogicalPipeline, specs: Sequence[ImageSpec]
    ) -> float:
        """Mean estimated milliseconds per image over `specs` (sizes of the samples). A
        sample on which the original's own draws raise (a crop larger than the image)
        costs every candidate the same, an error: it is left out of the mean."""
        estimates = []
        with preserved_rng(pipeline.generators):
            for spec in specs:
                try:
                    estimates.append(_CostWalk(self, pipeline, plan).estimate(spec))
                except Exception:
                    continue
        return sum(estimates) / max(1, len(estimates)) / 1e6


@dataclass
class _Sized:
    """An image the walk has only the size of, in a container ("pil", "array", "tensor")."""

    container: str


class _Undecoded(JpegSource):
    """A JPEG the walk decodes by adding its cost."""

    def __init__(self, walk: _CostWalk, spec: ImageSpec) -> None:
        super().__init__(b"", spec.size, "", "")
        self.walk = walk

    def decode(self, factor: int) -> tuple[Any, int]:
        self.walk.decode_factor = factor
        return _Sized("array"), factor


class _OpaqueReached(Exception):
    """Beyond an opaque op the cost is unknown, and the same for every candidate."""


class _CostWalk(Executor):
    """The runtime's walk over a plan, adding costs where the runtime would run kernels."""

    def __init__(self, model: CostModel, pipeline: LogicalPipeline, plan: PhysicalPlan) -> None:
        super().__init__(pipeline, plan)
        self.model = model
        self.ns = 0.0
        self.decode_factor = 1

    def estimate(self, spec: ImageSpec) -> float:
        """Nanoseconds for one image of `spec`, read as the plan reads it."""
        spec = spec.with_kind(self.pipeline.input_kind)
        backend = self.physical.decode.option("backend")
        if self.physical.fast_decode:
            source: Any = _Undecoded(self, spec)
        else:
            source = _Sized("pil" if backend == "pil" else "array")
        call = self._prologue(Call(source, spec))
        try:
            for index in range(len(self.physical.segments)):
                call = self.step(index, call)
            self.finish(call)
        except _OpaqueReached:
            pass
        decode = self.model.decode_ns[(backend, self.decode_factor)]
        return self.ns + decode * spec.width * spec.height

    def _apply(
        self, kernel: Kernel, img: Any, ops: list[ConcreteOp], spec: ImageSpec, factor: int
    ) -> Any:
        container = img.container
        needs = "pil" if reads_pil(kernel.takes, spec.kind) else "array"
        in_px = spec.width * spec.height / (factor * factor)
        if container != "tensor" and needs != container:
            self.ns += self.model.convert_ns * in_px
        op_spec = spec
        for op in ops:
            out_spec = op.output_spec(op_spec)
            touched = op_spec.width * op_spec.height / (factor * factor)
            touched += out_spec.width * out_spec.height
            self.ns += self.model.kernel_ns[kernel.cost_key(op, op_spec)] * touched
            op_spec, factor = out_spec, 1
            if out_spec.kind not in ("pil", "array"):
                container = "tensor"
        return _Sized(container if container == "tensor" else needs)

    def _call_opaque(self, index: int, img: Any) -> Any:
        raise _OpaqueReached

    def _replay(self, img: Any, indices: tuple[int, ...]) -> Any:
        raise RuntimeError("the draws raised: the original's error costs every plan the same")

    def _materialize(self, call: Call) -> tuple[Any, ImageSpec]:
        img = call.img
        if isinstance(img, JpegSource):
            img = img.decode(1)[0]
        return img, call.spec


@lru_cache(maxsize=1)
def calibrated() -> CostModel:
    """Per-pixel costs measured once per process on a 512x384 scene (about 0.2 s): each
    cost class the kernels registered, the reference loaders and the fast decoder."""
    width, height = 512, 384
    scene = make_scene(width, height, seed=7)
    img, px = Image.fromarray(scene), width * height
    with tempfile.TemporaryDirectory(prefix="reorder-calibrate-") as folder:
        path = os.path.join(folder, "scene.jpg")
        img.save(path, format="JPEG", quality=90)
        data = Path(path).read_bytes()
        with warnings.catch_warnings():  # torchvision 0.29 deprecates its decoders
            warnings.simplefilter("ignore", DeprecationWarning)
            # The reference loaders read the file and never reduce.
            loaders = {name: _ns_per_px(lambda f=f: f(path), px) for name, f in LOADERS.items()}
    decode_ns = {(backend, f): ns for backend, ns in loaders.items() for f in _FACTORS}
    for f in _FACTORS:
        decode_ns[(FAST_DECODER, f)] = _ns_per_px(
            lambda f=f: decode_jpeg(data, (width, height), f), px
        )
    scene_at = Calibration(img, scene, ImageSpec(width, height))
    kernel_ns = {
        name: _ns_per_px(lambda probe=probe: probe.call(scene_at), px * probe.touched)
        for name, probe in COST_PROBES.items()
    }
    return CostModel(kernel_ns, decode_ns, _ns_per_px(lambda: np.asarray(img), px))
