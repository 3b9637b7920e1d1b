"""Value rules: fused uint8 -> normalized float, colour ops on arrays, and pointwise ops
where the image is small."""

from __future__ import annotations

from reorder.ir import LogicalPipeline, Trait
from reorder.ops.backends import CV_COLOR, REFERENCE_KERNEL
from reorder.ops.colour import OPENCV_COLOUR
from reorder.ops.conversion import LUT_TO_FLOAT
from reorder.rules.engine import Rule, Stages, Window, fuse_into

_AS_WRITTEN = (REFERENCE_KERNEL.name,)

FUSED_TO_FLOAT = Rule(
    "fused_to_float",
    exact=True,
    why="per-value conversions of uint8 pixels (ToTensor, Normalize, ToImage, ToDtype...) are "
    "a 256-entry table per channel, filled by torchvision itself from a ramp image, so one "
    "lookup gives identical values",
    match=(
        (
            Stages(_AS_WRITTEN, every=Trait.TO_TENSOR, single=True),
            Stages(_AS_WRITTEN, every=Trait.PER_VALUE, single=True, many=True),
        ),
    ),
    rewrite=fuse_into(LUT_TO_FLOAT.name),
    overlapping=True,
)


def _mean_kept(window: Window, pipeline: LogicalPipeline) -> bool:
    """A mean-reading op (contrast) may cross a whole-image resize alone."""
    here, after = ([pipeline.ops[i] for i in stage.ops] for stage in window)
    return all(Trait.POINTWISE in op.traits for op in here) or all(
        Trait.SCALES in op.traits for op in after
    )


POINTWISE_AFTER_RESIZE = Rule(
    "pointwise_after_resize",
    exact=False,
    why="a colour op commutes with crops and flips exactly and with a resample up to rounding "
    "(the filter is a weighted mean); applied after a shrink it touches fewer pixels",
    match=(
        (
            Stages(each_one_of=Trait.POINTWISE | Trait.READS_MEAN),
            Stages(every=Trait.AXIS_ALIGNED, some=Trait.RESAMPLE, none=Trait.FILLS),
        ),
    ),
    rewrite=lambda window: (window[1], window[0]),
    where=_mean_kept,
    overlapping=True,
    pil_input=False,
    approximate_on="content that clips (a brightened highlight) and the shrink it moves across",
)

COLOR_ON_ARRAYS = Rule(
    "color_on_arrays",
    exact=False,
    why="brightness, contrast, saturation and grayscale are Pillow's own float32 blends "
    "redone in OpenCV (same bytes); hue is Pillow's 8-bit HSV quantization redone on "
    "OpenCV's float HSV (a few pixels per thousand a few levels off)",
    match=((Stages(_AS_WRITTEN, runs_on=OPENCV_COLOUR),),),
    rewrite=fuse_into(CV_COLOR.name),
    every=True,
    approximate_on=(
        "hue alone (8-bit HSV quantization edges); the blends and grayscale are byte-identical"
    ),
)
