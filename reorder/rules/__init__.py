"""All rewrite rules, in one table. Adding a rule means adding it here, nothing else."""

from reorder.rules.decode import DECODE_AT_DCT_SCALE, FAST_JPEG_DECODE
from reorder.rules.engine import AnyRule, DecodeRule, Rule, Stages, rewrites
from reorder.rules.geometry import (
    AREA_DOWNSCALE,
    BLUR_DOWNSCALE,
    CROP_BEFORE_RESIZE,
    OPENCV_KERNELS,
    ROTATE_IN_SMALLER_FRAME,
    TORCH_RESAMPLE,
)
from reorder.rules.values import COLOR_ON_ARRAYS, FUSED_TO_FLOAT, POINTWISE_AFTER_RESIZE

RULES: tuple[AnyRule, ...] = (
    FAST_JPEG_DECODE,
    DECODE_AT_DCT_SCALE,
    CROP_BEFORE_RESIZE,
    OPENCV_KERNELS,
    ROTATE_IN_SMALLER_FRAME,
    AREA_DOWNSCALE,
    BLUR_DOWNSCALE,
    TORCH_RESAMPLE,
    FUSED_TO_FLOAT,
    POINTWISE_AFTER_RESIZE,
    COLOR_ON_ARRAYS,
)
EXACT_RULES: tuple[AnyRule, ...] = tuple(rule for rule in RULES if rule.exact)
EXACT_RULE_NAMES = frozenset(rule.name for rule in EXACT_RULES)
APPROXIMATE_RULE_NAMES = frozenset(rule.name for rule in RULES if not rule.exact)

__all__ = [
    "APPROXIMATE_RULE_NAMES",
    "EXACT_RULES",
    "EXACT_RULE_NAMES",
    "RULES",
    "AnyRule",
    "DecodeRule",
    "Rule",
    "Stages",
    "rewrites",
]
