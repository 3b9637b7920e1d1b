"""What an image looks like at one point of a pipeline, without its pixels."""

from __future__ import annotations

from dataclasses import dataclass

# Where an image lives: a PIL image, a CHW torch tensor of uint8 or float values, or (for
# albumentations) an HWC numpy array of uint8 or float values.
KINDS = ("pil", "uint8_tensor", "float_tensor", "array", "float_array")


@dataclass(frozen=True)
class ImageSpec:
    """Size, channels and container of an image; enough to draw random parameters.

    `levels_per_unit`: per channel, how many 0..255 pixel levels one unit of its values is
    (1 for uint8, 255 for a [0, 1] float, 255 * std after Normalize), so errors are
    reported in the same units whatever the output is.
    """

    width: int
    height: int
    channels: int = 3
    kind: str = "pil"
    levels_per_unit: tuple[float, ...] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown image kind {self.kind!r}; expected one of {KINDS}")

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    # Direct construction: these run for every op of every image, where
    # dataclasses.replace's introspection alone costs more than the op's draw.
    def with_size(self, width: int, height: int) -> ImageSpec:
        return ImageSpec(int(width), int(height), self.channels, self.kind, self.levels_per_unit)

    def with_channels(self, channels: int) -> ImageSpec:
        levels = (self.levels_per_unit[0],) * channels
        return ImageSpec(self.width, self.height, channels, self.kind, levels)

    def with_kind(self, kind: str, levels: tuple[float, ...] | None = None) -> ImageSpec:
        levels = self.levels_per_unit if levels is None else levels
        return ImageSpec(self.width, self.height, self.channels, kind, levels)
