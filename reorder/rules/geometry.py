"""Geometry rules: crop before resize (one box resample), and OpenCV kernels."""

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
    starts_from_pil,
)

_SEQUENTIAL = ("reference", "cv")


def _box_runs(stages: list[Stage], pipeline: LogicalPipeline) -> Iterator[tuple[int, int]]:
    """Maximal runs of axis-aligned op stages with at most one resample in them."""
    start = 0
    while start < len(stages):
        stop, resamples = start, 0
        while stop < len(stages):
            stage = stages[stop]
            if stage.kernel not in _SEQUENTIAL + ("pil_box",):
                break
            if not all_have(stage, pipeline, "axis_aligned"):
                break
            count = sum("resample" in pipeline.ops[i].traits for i in stage.ops)
            if resamples + count > 1:
                break
            resamples += count
            stop += 1
        if (
            stop > start
            and resamples == 1
            and (stop - start > 1 or stages[start].kernel != "pil_box")
        ):
            yield start, stop
        start = max(stop, start + 1)


def _fuse_box(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    if not starts_from_pil(pipeline):
        return
    for index, stages in modelled_segments(plan):
        for start, stop in _box_runs(stages, pipeline):
            ops = tuple(i for stage in stages[start:stop] for i in stage.ops)
            merged = stages[:start] + [Stage("pil_box", ops)] + stages[stop:]
            yield plan.replace_stages(index, merged, "crop_before_resize")


CROP_BEFORE_RESIZE = Rule(
    "crop_before_resize",
    "exact",
    "resize, crop and flip compose into one resample of a float source box (sub-pixel "
    "offset kept, filter support clipped where the original clipped it), so only the "
    "pixels that reach the output are computed",
    _fuse_box,
)


def _opencv(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    if not starts_from_pil(pipeline):
        return

    def eligible(stage: Stage) -> bool:
        traits = [pipeline.ops[i].traits for i in stage.ops]
        return stage.kernel == "reference" and all(t & {"axis_aligned", "rotate"} for t in traits)

    yield from convert_stages(plan, pipeline, eligible, "cv", "opencv_kernels")


OPENCV_KERNELS = Rule(
    "opencv_kernels",
    "approximate",
    "OpenCV runs bilinear upscales, rotations (PIL's matrix, shifted to OpenCV's pixel "
    "centres), flips, crops and pads on arrays; each op it cannot match falls back to PIL",
    _opencv,
    approximate_on=(
        "inputs under 32 px (edge rows), bilinear enlargements (PIL renormalizes at the "
        "edges, OpenCV replicates) and rotations (pixel-centre ties, corner fill)"
    ),
)


def _smaller_frame(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    if not starts_from_pil(pipeline):
        return
    for index, stages in modelled_segments(plan):
        for pos in range(len(stages) - 1):
            first, second = stages[pos], stages[pos + 1]

            def one(stage: Stage, trait: str) -> bool:
                return single(stage, pipeline, trait, _SEQUENTIAL)

            pair = (one(first, "scales") and one(second, "rotate")) or (
                one(first, "rotate") and one(second, "scales")
            )
            if pair:
                merged = Stage("cv_warp_small", first.ops + second.ops)
                fused = stages[:pos] + [merged] + stages[pos + 2 :]
                yield plan.replace_stages(index, fused, "rotate_in_smaller_frame")


ROTATE_IN_SMALLER_FRAME = Rule(
    "rotate_in_smaller_frame",
    "approximate",
    "a rotation next to a resize is done at the end with fewer pixels, through the "
    "resize's conjugate (a general affine when the resize changes the aspect ratio)",
    _smaller_frame,
    approximate_on=(
        "the resize's factor per axis (the warp's sampling grid changes with it) and the "
        "rotation's corners"
    ),
)


def _cv_resamples(
    plan: PhysicalPlan, pipeline: LogicalPipeline
) -> Iterator[tuple[Stage, bool, bool]]:
    """Each cv stage that resamples; whether fill (padding, crops past the edge, rotation
    corners: hard edges) came before it in its segment; whether it fills itself."""
    for _, stages in modelled_segments(plan):
        filled = False
        for stage in stages:
            fills = has(stage, pipeline, "fills")
            if stage.kernel == "cv" and has(stage, pipeline, "resample"):
                yield stage, filled, fills
            filled = filled or fills


def _area(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    # Hard edges are where the pixel-area average and PIL's filter differ most: only
    # downscale fill-free input.
    if not starts_from_pil(pipeline):
        return
    eligible = {s for s, filled, fills in _cv_resamples(plan, pipeline) if not (filled or fills)}
    yield from convert_stages(plan, pipeline, eligible.__contains__, "cv_area", "area_downscale")


AREA_DOWNSCALE = Rule(
    "area_downscale",
    "approximate",
    "a smooth antialiased downscale of fill-free input is close to OpenCV's pixel-area "
    "average (42-53 dB on photos), or for bilinear up to a 3x shrink to a Gaussian blur of "
    "the filter's width and a plain bilinear sample (>= 50 dB); plain bilinear up to a 1.5x "
    "shrink (>= 39 dB); several times faster",
    _area,
    approximate_on=(
        "the shrink per axis, which picks its branch: plain bilinear up to 1.5x, blur and"
        " sample up to 3x, pixel-area average beyond"
    ),
)


def _blur_after_fill(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    # The counterpart of area_downscale past the first fill: a Gaussian of the filter's
    # width is itself a smooth filter, so it treats the hard edges of rotation corners and
    # padding much as PIL's triangle does (>= 49 dB after a rotation, on photos).
    if not starts_from_pil(pipeline):
        return
    eligible = {s for s, filled, _ in _cv_resamples(plan, pipeline) if filled}
    yield from convert_stages(plan, pipeline, eligible.__contains__, "cv_blur", "blur_downscale")


BLUR_DOWNSCALE = Rule(
    "blur_downscale",
    "approximate",
    "a bilinear shrink of up to 3x after fill (rotation corners, padding) is a Gaussian "
    "blur of the filter's width and a plain bilinear sample (>= 49 dB on photos), several "
    "times faster than PIL",
    _blur_after_fill,
    approximate_on=("the shrink per axis (1.125x to 3x) and hard edges of fill next to content"),
)
