"""Geometry rules: crop before resize (one box resample), and OpenCV kernels."""

from __future__ import annotations

from reorder.ir import LogicalPipeline, Trait
from reorder.ops.backends import CV, CV_AREA, CV_BLUR, CV_TORCH, REFERENCE_KERNEL
from reorder.ops.box import PIL_BOX
from reorder.ops.geometry import OPENCV, TORCH_FILTERS
from reorder.ops.warp import CV_WARP_SMALL
from reorder.rules.engine import Rule, Stages, Window, fuse_into

_SEQUENTIAL = (REFERENCE_KERNEL.name, CV.name)


def _not_a_lone_box(window: Window, pipeline: LogicalPipeline) -> bool:
    return len(window) > 1 or window[0].kernel != PIL_BOX.name


_BOXABLE = _SEQUENTIAL + (PIL_BOX.name,)
CROP_BEFORE_RESIZE = Rule(
    "crop_before_resize",
    exact=True,
    why="resize, crop and flip compose into one resample of a float source box (sub-pixel "
    "offset kept, filter support clipped where the original clipped it), so only the "
    "pixels that reach the output are computed",
    # The longest run of axis-aligned stages with one resample in it.
    match=(
        (
            Stages(_BOXABLE, every=Trait.AXIS_ALIGNED, none=Trait.RESAMPLE, many=True),
            Stages(_BOXABLE, every=Trait.AXIS_ALIGNED, some=Trait.RESAMPLE),
            Stages(_BOXABLE, every=Trait.AXIS_ALIGNED, none=Trait.RESAMPLE, many=True),
        ),
    ),
    rewrite=fuse_into(PIL_BOX.name),
    where=_not_a_lone_box,
)

OPENCV_KERNELS = Rule(
    "opencv_kernels",
    exact=False,
    why="each op with an OpenCV kernel that matches PIL's result runs on arrays (bilinear "
    "upscales, rotations with PIL's matrix shifted to OpenCV's pixel centres, flips, crops, "
    "pads, and what else registers one); where a kernel cannot match, the op runs in PIL",
    match=((Stages((REFERENCE_KERNEL.name,), runs_on=OPENCV),),),
    rewrite=fuse_into(CV.name),
    every=True,
    approximate_on=(
        "the approximate branches of the kernels it runs (listed per plan), such as inputs "
        "under 32 px (edge rows), bilinear enlargements (PIL renormalizes at the edges, "
        "OpenCV replicates), warps (pixel-centre ties, corner fill), float filters (sums in "
        "another order)"
    ),
)

_SCALES = Stages(_SEQUENTIAL, every=Trait.SCALES, single=True)
_ROTATES = Stages(_SEQUENTIAL, every=Trait.ROTATE, single=True)
ROTATE_IN_SMALLER_FRAME = Rule(
    "rotate_in_smaller_frame",
    exact=False,
    why="a rotation next to a resize is done at the end with fewer pixels, through the "
    "resize's conjugate (a general affine when the resize changes the aspect ratio)",
    match=((_SCALES, _ROTATES), (_ROTATES, _SCALES)),
    rewrite=fuse_into(CV_WARP_SMALL.name),
    overlapping=True,
    approximate_on=(
        "the resize's factor per axis (the warp's sampling grid changes with it) and the "
        "rotation's corners"
    ),
)

# Hard edges (padding, crops past the edge, rotation corners) are where the pixel-area
# average and PIL's filter differ most: only downscale fill-free input with it.
AREA_DOWNSCALE = Rule(
    "area_downscale",
    exact=False,
    why="a smooth antialiased downscale of fill-free input is close to OpenCV's pixel-area "
    "average (42-53 dB on photos), or for bilinear up to a 3x shrink to a Gaussian blur of "
    "the filter's width and a plain bilinear sample (>= 50 dB); plain bilinear up to a 1.5x "
    "shrink (>= 39 dB); several times faster",
    match=((Stages((CV.name,), some=Trait.RESAMPLE, none=Trait.FILLS, after_fill=False),),),
    rewrite=fuse_into(CV_AREA.name),
    every=True,
    approximate_on=(
        "the shrink per axis, which picks its branch: plain bilinear up to 1.5x, blur and"
        " sample up to 3x, pixel-area average beyond"
    ),
)

# The counterpart of area_downscale past the first fill: a Gaussian of the filter's width
# is itself a smooth filter, so it treats the hard edges of rotation corners and padding
# much as PIL's triangle does (>= 49 dB after a rotation, on photos).
BLUR_DOWNSCALE = Rule(
    "blur_downscale",
    exact=False,
    why="a bilinear shrink of up to 3x after fill (rotation corners, padding) is a Gaussian "
    "blur of the filter's width and a plain bilinear sample (>= 49 dB on photos), several "
    "times faster than PIL",
    match=((Stages((CV.name,), some=Trait.RESAMPLE, after_fill=True),),),
    rewrite=fuse_into(CV_BLUR.name),
    every=True,
    approximate_on="the shrink per axis (1.125x to 3x) and hard edges of fill next to content",
)


def _a_ported_filter(window: Window, pipeline: LogicalPipeline) -> bool:
    """Some resample in the window uses a filter PyTorch ports (else the stage is cv's)."""
    resamples = [
        pipeline.ops[i].transform
        for stage in window
        for i in stage.ops
        if Trait.RESAMPLE in pipeline.ops[i].traits
    ]
    return any(
        getattr(getattr(t, "interpolation", None), "value", None) in TORCH_FILTERS
        for t in resamples
    )


# The alternative to the two above wherever PIL resamples with a filter PyTorch ports,
# fill or not: the same taps, so no threshold on the shrink.
TORCH_RESAMPLE = Rule(
    "torch_resample",
    exact=False,
    why="a bilinear or bicubic resize runs PyTorch's uint8 antialiased filter, a port of "
    "PIL's (the kernel torchvision v2 uses on tensors): the same taps in 16-bit fixed "
    "point, a level apart on a few pixels (>= 54 dB on photos and scenes), 3x faster",
    match=((Stages((CV.name,), some=Trait.RESAMPLE),),),
    rewrite=fuse_into(CV_TORCH.name),
    where=_a_ported_filter,
    every=True,
    approximate_on="fixed-point rounding of the filter's weights, which depends on the shrink",
)
