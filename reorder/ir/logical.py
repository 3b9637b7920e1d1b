"""The logical pipeline: the user's ops, in the user's order, each with its own object.

It is the source of truth for randomness and semantics: an `OpModel` draws an op's random
parameters through the user's transform object (so the same RNG streams are used in the
same order) and describes the result as concrete ops; it never touches pixels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec
from reorder.ir.traits import NO_TRAITS, Trait


@dataclass(frozen=True)
class OpModel:
    """How reorder understands one transform class: how it draws, what it lowers to."""

    name: str
    sample: Callable[[Any, ImageSpec], list[ConcreteOp]]
    traits: Trait = NO_TRAITS
    # The concrete op types its draws lower to: a rule that moves a stage to a backend
    # checks that the backend has a kernel for each of them.
    produces: tuple[type, ...] = ()
    # For facts that depend on the object's settings (RandomCrop with padding, a v2
    # container's members): added to the fixed ones above.
    traits_of: Callable[[Any], Trait] | None = None
    produces_of: Callable[[Any], tuple[type, ...]] | None = None


@dataclass
class LogicalOp:
    index: int
    transform: Any
    model: OpModel | None  # None: opaque, a barrier nothing moves across

    @property
    def name(self) -> str:
        return self.model.name if self.model else f"opaque:{type(self.transform).__name__}"

    @property
    def opaque(self) -> bool:
        return self.model is None

    @property
    def traits(self) -> Trait:
        if self.model is None:
            return NO_TRAITS
        if self.model.traits_of is not None:
            return self.model.traits | self.model.traits_of(self.transform)
        return self.model.traits

    @property
    def produces(self) -> tuple[type, ...]:
        """The concrete op types its draws may lower to (none for an opaque op)."""
        if self.model is None:
            return ()
        if self.model.produces_of is not None:
            return self.model.produces + self.model.produces_of(self.transform)
        return self.model.produces

    def sample(self, spec: ImageSpec) -> list[ConcreteOp]:
        assert self.model is not None, "opaque ops are called, not sampled"
        return self.model.sample(self.transform, spec)


def _public_settings(transform: Any) -> str:
    settings = sorted(
        (k, repr(v))
        for k, v in vars(transform).items()
        if not k.startswith("_") and k != "training"
    )
    return str(settings)


# The container each reference loader (ops.decode.LOADERS) hands the first op.
LOADER_KINDS = {"pil": "pil", "cv2": "array", "torchvision.io": "uint8_tensor"}


@dataclass
class LogicalPipeline:
    """The parsed user pipeline. `original` is the user's own callable, untouched."""

    frontend: str
    original: Any
    ops: list[LogicalOp] = field(default_factory=list)
    # Global RNG streams the frontend's transforms draw from (names in reorder.rng.STREAMS).
    rng_streams: tuple[str, ...] = ("torch", "python", "numpy")
    # Finds the RNG objects the user's transforms own (albumentations' per-transform
    # generators); a function, as the user may replace them (`set_random_seed`).
    owned_generators: Callable[[], tuple[Any, ...]] | None = None
    # The reference loader its users read files with (a name in ops.decode.LOADERS).
    loader: str = "pil"
    # None: `original(image)`; a name: `original(**{keyword: image})[keyword]`.
    keyword: str | None = None
    # Draws the frontend makes once per call before any op (albumentations' Compose coin).
    prologue: Callable[[], None] | None = None
    # A modelled transform's settings, for the fingerprint (default: its public attributes).
    settings: Callable[[Any], str] | None = None

    @property
    def generators(self) -> tuple[Any, ...]:
        return self.owned_generators() if self.owned_generators is not None else ()

    @property
    def input_kind(self) -> str:
        """The container the reference loader hands the first op."""
        return LOADER_KINDS[self.loader]

    def invoke(self, transform: Any, image: Any) -> Any:
        """Call a transform on an image with the frontend's call convention; its whole
        output (for albumentations, the dict)."""
        if self.keyword is None:
            return transform(image)
        return transform(**{self.keyword: image})

    def call(self, transform: Any, image: Any) -> Any:
        """Call a transform on an image with the frontend's call convention; the image."""
        output = self.invoke(transform, image)
        return output if self.keyword is None else output[self.keyword]

    def fingerprint(self) -> str:
        """Stable hash of the ops' classes and, for modelled ops, every public setting (a
        repr may omit some, like RandomCrop's padding_mode). Opaque ops are called as
        written, so only their class counts (their repr may hold a memory address)."""
        lines = [f"{self.frontend}:{self.loader}"]
        for op in self.ops:
            cls = type(op.transform)
            line = f"{cls.__module__}.{cls.__qualname__}"
            if not op.opaque:
                line += f":{(self.settings or _public_settings)(op.transform)}"
            lines.append(line)
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]

    def runs(self) -> list[tuple[int, int, bool]]:
        """Split into maximal runs of modeled ops and single opaque ops: (start, stop, opaque)."""
        runs: list[tuple[int, int, bool]] = []
        for op in self.ops:
            if op.opaque or not runs or runs[-1][2]:
                runs.append((op.index, op.index + 1, op.opaque))
            else:
                start, _, _ = runs[-1]
                runs[-1] = (start, op.index + 1, False)
        return runs
