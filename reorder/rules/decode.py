"""Decode rules: a faster JPEG decoder, and decoding at a reduced DCT scale."""

from __future__ import annotations

from reorder.ir import Trait
from reorder.ir.physical import FAST_DECODER, make_options
from reorder.ops.box import PIL_BOX
from reorder.ops.warp import CV_WARP_SMALL
from reorder.rules.engine import DecodeRule, Stages

FAST_JPEG_DECODE = DecodeRule(
    "fast_jpeg_decode",
    exact=True,
    why="libjpeg-turbo via simplejpeg (same IDCT and upsampling as Pillow, OpenCV and "
    "torchvision.io) gives the same bytes for YCbCr and grayscale JPEGs; anything else (and, "
    "for OpenCV, an EXIF-rotated file) is still decoded by the reference loader",
    requires=(),
    unless=make_options(backend=FAST_DECODER),
    sets=make_options(backend=FAST_DECODER),
)

# Source pixels kept per output pixel, at least: 2 leaves the resample after the decode
# a shrink of 2x or more, done by a filter of the right width. 1 left it 1-1.5x, so the
# DCT's own 8x8 averaging stood in for most of PIL's wider filter: on grainy photos (real
# ones at 1920x1281, 1023x768) that measured 26-33 dB whatever kernel followed, where 2
# measured 41 dB and more.
MIN_SHRINK = 2.0

DECODE_AT_DCT_SCALE = DecodeRule(
    "decode_at_dct_scale",
    exact=False,
    why="the first resample shrinks the image anyway; decoding the JPEG at 1/2, 1/4 or 1/8 "
    "in the DCT domain (chosen per image, never below the output resolution) replaces "
    "most of that shrink with the decoder's own, cheaper one",
    requires=make_options(backend=FAST_DECODER, min_shrink=None),
    unless=(),
    sets=make_options(min_shrink=MIN_SHRINK),
    # Kernels that read no full-resolution coordinates before their first resample:
    # pil_box composes it into one box; cv_warp_small resizes before it warps; any
    # kernel does a first op that resizes the whole image.
    first=(
        Stages(kernels=(PIL_BOX.name,), some=Trait.RESAMPLE),
        Stages(kernels=(CV_WARP_SMALL.name,)),
        Stages(every=Trait.SCALES),
    ),
    approximate_on=(
        "the decode factor and the shrink on each axis after it; small images (block "
        "edges) and JPEGs whose reduced size rounds up"
    ),
)
