"""Static facts about a logical op that rules match on (they never look at pixels)."""

from __future__ import annotations

import enum


class Trait(enum.Flag):
    """What a logical op does, as far as moving it or fusing it is concerned."""

    # Moves pixels only by crop, flip or resize (composable into one box).
    AXIS_ALIGNED = enum.auto()
    # Contains a resize.
    RESAMPLE = enum.auto()
    # Starts by resizing the whole image: any source resolution gives the same result.
    SCALES = enum.auto()
    # Contains a rotation.
    ROTATE = enum.auto()
    # A colour op whose output pixel depends on that pixel alone: it commutes with crops
    # and flips, and with resamples up to rounding (contrast, which reads the mean of the
    # whole image it receives, is not one).
    POINTWISE = enum.auto()
    # A colour op that blends with the mean of the whole image it receives (contrast): a
    # whole-image resize keeps that mean (to rounding), a crop or a pad does not.
    READS_MEAN = enum.auto()
    # May add pixels that were not in the input (padding, rotation corners).
    FILLS = enum.auto()
    # Turns a PIL image into a tensor (ToTensor, PILToTensor, v2 ToImage).
    TO_TENSOR = enum.auto()
    # Maps each channel value on its own (conversions, Normalize).
    PER_VALUE = enum.auto()


NO_TRAITS = Trait(0)
