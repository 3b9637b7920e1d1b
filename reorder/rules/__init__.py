"""All rewrite rules, in one table. Adding a rule means adding it here, nothing else."""

from reorder.rules.base import Rule
from reorder.rules.decode import DECODE_AT_DCT_SCALE, FAST_JPEG_DECODE
from reorder.rules.geometry import (
    AREA_DOWNSCALE,
    BLUR_DOWNSCALE,
    CROP_BEFORE_RESIZE,
    OPENCV_KERNELS,
    ROTATE_IN_SMALLER_FRAME,
)
from reorder.rules.values import COLOR_ON_ARRAYS, FUSED_TO_FLOAT, POINTWISE_AFTER_RESIZE

RULES: tuple[Rule, ...] = (
    FAST_JPEG_DECODE,
    DECODE_AT_DCT_SCALE,
    CROP_BEFORE_RESIZE,
    OPENCV_KERNELS,
    ROTATE_IN_SMALLER_FRAME,
    AREA_DOWNSCALE,
    BLUR_DOWNSCALE,
    FUSED_TO_FLOAT,
    POINTWISE_AFTER_RESIZE,
    COLOR_ON_ARRAYS,
)

__all__ = ["RULES", "Rule"]
