"""Decode rules: a faster JPEG decoder, and decoding at a reduced DCT scale."""

from __future__ import annotations

from collections.abc import Iterator

from reorder.ir import LogicalPipeline, PhysicalPlan
from reorder.rules.base import Rule, has


def _fast_decoder(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    if plan.decode.option("backend") != "simplejpeg":  # a reference loader
        yield plan.replace_decode(
            plan.decode.with_options(backend="simplejpeg"), "fast_jpeg_decode"
        )


FAST_JPEG_DECODE = Rule(
    "fast_jpeg_decode",
    "exact",
    "libjpeg-turbo via simplejpeg (same IDCT and upsampling as Pillow, OpenCV and "
    "torchvision.io) gives the same bytes for YCbCr and grayscale JPEGs; anything else (and, "
    "for OpenCV, an EXIF-rotated file) is still decoded by the reference loader",
    _fast_decoder,
)

# Source pixels kept per output pixel, at least: 2 leaves the resample after the decode
# a shrink of 2x or more, done by a filter of the right width. A margin of 1 left it
# 1-1.5x, so the DCT's own 8x8 averaging stood in for most of PIL's wider filter: on
# grainy photos (real ones at 1920x1281, 1023x768) that measured 26-33 dB whatever
# kernel followed, where a margin of 2 measured 41 dB and more.
MARGINS = (2.0,)


def _reduced_decode(plan: PhysicalPlan, pipeline: LogicalPipeline) -> Iterator[PhysicalPlan]:
    if plan.decode.option("backend") != "simplejpeg" or plan.decode.option("margin"):
        return
    if not plan.segments or plan.segments[0].barrier is not None:
        return
    first = plan.segments[0].stages[0]
    # pil_box composes its resample into one box; cv_warp_small resizes before it warps.
    composes = (first.kernel == "pil_box" and has(first, pipeline, "resample")) or (
        first.kernel == "cv_warp_small"
    )
    if not composes and "scales" not in pipeline.ops[first.ops[0]].traits:
        return  # the first kernel needs full-resolution coordinates
    for margin in MARGINS:
        yield plan.replace_decode(plan.decode.with_options(margin=margin), "decode_at_dct_scale")


DECODE_AT_DCT_SCALE = Rule(
    "decode_at_dct_scale",
    "approximate",
    "the first resample shrinks the image anyway; decoding the JPEG at 1/2, 1/4 or 1/8 "
    "in the DCT domain (chosen per image, never below the output resolution) replaces "
    "most of that shrink with the decoder's own, cheaper one",
    _reduced_decode,
    approximate_on=(
        "the decode factor and the shrink on each axis after it; small images (block "
        "edges) and JPEGs whose reduced size rounds up"
    ),
)
