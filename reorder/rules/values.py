"""Value rules: fused uint8 -> normalized float, colour ops on arrays, and pointwise ops
where the image is small."""

from __future__ import annotations

from collections.abc import Iterator

from reorder.ir import LogicalPipeline, PhysicalPlan, Stage
from reorder.rules.base import (
    Rule,
    all_have,
    convert_stages,
    has,
    modelled_segments,
    single,
    stage_traits,
    starts_from_pil,
)


def _fuse_to_float(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    if not starts_from_pil(pipeline):
        return
    for index, stages in modelled_segments(plan):
        for pos, stage in enumerate(stages):
            if not single(stage, pipeline, "to_tensor", ("reference",)):
                continue
            stop = pos + 1
            while stop < len(stages) and single(
                stages[stop], pipeline, "per_value", ("reference",)
            ):
                stop += 1
            ops = tuple(i for s in stages[pos:stop] for i in s.ops)
            fused = stages[:pos] + [Stage("lut_to_float", ops)] + stages[stop:]
            yield plan.replace_stages(index, fused, "fused_to_float")


FUSED_TO_FLOAT = Rule(
    "fused_to_float",
    "exact",
    "per-value conversions of uint8 pixels (ToTensor, Normalize, ToImage, ToDtype...) are "
    "a 256-entry table per channel, filled by torchvision itself from a ramp image, so one "
    "lookup gives identical values",
    _fuse_to_float,
)


def _pointwise_late(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    for index, stages in modelled_segments(plan):
        for pos in range(len(stages) - 1):
            here, after = stages[pos], stages[pos + 1]
            # A mean-reading op (contrast) may cross a whole-image resize alone.
            whole_image = all_have(after, pipeline, "scales")
            movable = all(
                "pointwise" in t or ("reads_mean" in t and whole_image)
                for t in stage_traits(here, pipeline)
            )
            if not (here.ops and movable):
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
    approximate_on=("content that clips (a brightened highlight) and the shrink it moves across"),
)


def _color_on_arrays(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    if not starts_from_pil(pipeline):
        return

    def eligible(stage: Stage) -> bool:
        return stage.kernel == "reference" and all_have(stage, pipeline, "colour")

    yield from convert_stages(plan, pipeline, eligible, "cv_color", "color_on_arrays")


COLOR_ON_ARRAYS = Rule(
    "color_on_arrays",
    "approximate",
    "brightness, contrast, saturation and grayscale are Pillow's own float32 blends "
    "redone in OpenCV (same bytes); hue is Pillow's 8-bit HSV quantization redone on "
    "OpenCV's float HSV (a few pixels per thousand a few levels off)",
    _color_on_arrays,
    approximate_on=(
        "hue alone (8-bit HSV quantization edges); the blends and grayscale are byte-identical"
    ),
)
