"""Cost model: pixels touched per stage x per-kernel cost calibrated on this machine.

It only has to rank candidates well enough that the few worth timing are among the top;
the timing harness decides. The dominant term on large JPEGs is decoding, so decode costs
are calibrated per DCT scale.
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

import numpy as np
from PIL import Image

from reorder.ir import (
    ColorAdjust,
    ImageSpec,
    LogicalPipeline,
    Normalize,
    PhysicalPlan,
    Resize,
    ToFloat,
)
from reorder.kernels import KERNELS, cv, lut, pil, reference
from reorder.kernels.decode import LOADERS, decode_jpeg
from reorder.rng import preserved_rng
from reorder.runtime import draw, reads_pil, reduced_decode_factor
from reorder.samples import make_scene

_FACTORS = (1, 2, 4, 8)


def _ns_per_px(fn: Callable[[], object], pixels: int, repeats: int = 5) -> float:
    fn()
    best = min(_elapsed(fn) for _ in range(repeats))
    return best * 1e9 / pixels


def _elapsed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass(frozen=True)
class CostModel:
    kernel_ns: dict[str, float]  # per input + output pixel, by kernel (and "to_float" use)
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
                    estimates.append(self._estimate_one(plan, pipeline, spec))
                except Exception:
                    continue
        return sum(estimates) / max(1, len(estimates)) / 1e6

    def _estimate_one(
        self, plan: PhysicalPlan, pipeline: LogicalPipeline, spec: ImageSpec
    ) -> float:
        backend = plan.decode.option("backend")
        margin = plan.decode.option("margin", 0.0)
        source_px = spec.width * spec.height
        container = "pil" if backend == "pil" else "array"
        decode_factor = 1
        ns = 0.0
        for seg_pos, segment in enumerate(plan.segments):
            if segment.barrier is not None:
                break  # unknown beyond an opaque op; the same for every candidate
            drawn, spec_after = draw(pipeline, segment.ops, spec)
            for pos, stage in enumerate(segment.stages):
                kernel = KERNELS[stage.kernel]
                ops = [op for i in stage.ops for op in drawn[i][1]]
                in_spec = drawn[stage.ops[0]][0]
                factor = 1
                if seg_pos == 0 and pos == 0 and margin and backend == "simplejpeg":
                    factor = decode_factor = reduced_decode_factor(kernel, ops, in_spec, margin)
                in_px = in_spec.width * in_spec.height / (factor * factor)
                needs = "pil" if reads_pil(kernel.takes, in_spec.kind) else "array"
                if container != "tensor" and needs != container:
                    ns += self.convert_ns * in_px
                op_spec = in_spec
                for op in ops:
                    out_spec = op.output_spec(op_spec)
                    touched = op_spec.width * op_spec.height / (factor * factor)
                    touched += out_spec.width * out_spec.height
                    ns += self.kernel_ns[kernel.cost_key(op, op_spec)] * touched
                    op_spec, factor = out_spec, 1
                    if out_spec.kind not in ("pil", "array"):
                        container = "tensor"
                if container != "tensor":
                    container = needs
            spec = spec_after
        return ns + self.decode_ns[(backend, decode_factor)] * source_px


@lru_cache(maxsize=1)
def calibrated() -> CostModel:
    """Per-pixel costs measured once per process on a 512x384 scene (about 0.2 s)."""
    width, height = 512, 384
    scene = make_scene(width, height, seed=7)
    img, px, spec = Image.fromarray(scene), width * height, ImageSpec(width, height)
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
        decode_ns[("simplejpeg", f)] = _ns_per_px(
            lambda f=f: decode_jpeg(data, (width, height), f), px
        )
    half = [Resize(width // 2, height // 2)]
    double = [Resize(width * 2, height * 2)]
    to_float = [ToFloat(), Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))]
    jitter = [ColorAdjust((0, 1, 2, 3), 1.2, 0.8, 1.1, 0.05)]
    kernel_ns = {
        "reference": _ns_per_px(lambda: reference.apply_ops(img, half), px * 5 // 4),
        "pil_box": _ns_per_px(lambda: pil.box_resample(img, half, spec), px * 5 // 4),
        "cv": _ns_per_px(lambda: cv.apply_ops(scene, double, spec), px * 5),
        "lut_to_float": _ns_per_px(lambda: lut.apply_table(scene, to_float, spec), px * 2),
        "reference:to_float": _ns_per_px(lambda: reference.apply_ops(img, to_float), px * 2),
        "cv_color": _ns_per_px(lambda: cv.apply_ops(scene, jitter, spec, cv.COLOR), px * 2),
        "reference:color": _ns_per_px(lambda: reference.apply_ops(img, jitter), px * 2),
    }
    return CostModel(kernel_ns, decode_ns, _ns_per_px(lambda: np.asarray(img), px))
