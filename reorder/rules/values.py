"""Value rules: fused uint8 -> normalized float, and pointwise ops where the image is small."""

from __future__ import annotations

from collections.abc import Iterator

from reorder.ir import LogicalPipeline, PhysicalPlan, Stage
from reorder.rules.base import Rule, all_have, has, modelled_segments, single


def _fuse_to_float(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    for index, stages in modelled_segments(plan):
        for pos, stage in enumerate(stages):
            if not single(stage, pipeline, "to_float", ("reference",)):
                continue
            following = stages[pos + 1] if pos + 1 < len(stages) else None
            if following is not None and single(following, pipeline, "normalize", ("reference",)):
                merged, taken = Stage("lut_to_float", stage.ops + following.ops), 2
            else:
                merged, taken = Stage("lut_to_float", stage.ops), 1
            fused = stages[:pos] + [merged] + stages[pos + taken :]
            yield plan.replace_stages(index, fused, "fused_to_float")


FUSED_TO_FLOAT = Rule(
    "fused_to_float",
    "exact",
    "ToTensor and Normalize on uint8 pixels are a per-channel table of 256 floats, computed "
    "with torchvision's own float32 operations, so one lookup gives identical values",
    _fuse_to_float,
)


def _pointwise_late(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    for index, stages in modelled_segments(plan):
        for pos in range(len(stages) - 1):
            here, after = stages[pos], stages[pos + 1]
            if not all_have(here, pipeline, "pointwise"):
                continue
            if not all_have(after, pipeline, "axis_aligned") or has(after, pipeline, "fills"):
                continue
            if not has(after, pipeline, "resample"):
                continue
            swapped = stages[:pos] + [after, here] + stages[pos + 2 :]
            yield plan.replace_stages(index, swapped, "pointwise_after_resize")


POINTWISE_AFTER_RESIZE = Rule(
    "pointwise_after_resize",
    "approximate",
    "a colour op commutes with crops and flips exactly and with a resample up to rounding "
    "(the filter is a weighted mean); applied after a shrink it touches fewer pixels",
    _pointwise_late,
)
