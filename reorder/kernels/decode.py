"""Decoders from file bytes to RGB pixels, and the reference loader they must match.

The reference is what `ImageFolder` does: `PIL.Image.open(path).convert("RGB")` (no EXIF
rotation). libjpeg-turbo through simplejpeg decodes baseline/progressive YCbCr and
grayscale JPEGs to the same bytes, faster, and can decode at 1/2, 1/4 or 1/8 size in the
DCT domain. Other files and colour spaces go through PIL, exactly as the original.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np
import simplejpeg
from PIL import Image

# Colour spaces libjpeg-turbo converts to RGB exactly as Pillow does.
_FAST_COLORSPACES = ("YCbCr", "Gray")


def pil_rgb_loader(path: str | os.PathLike) -> Image.Image:
    """torchvision's default loader (`datasets.folder.pil_loader`)."""
    with open(path, "rb") as f:
        img = Image.open(f)
        return img.convert("RGB")


def pil_rgb_from_bytes(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a JPEG simplejpeg decodes like Pillow, else None."""
    if data[:3] != b"\xff\xd8\xff":
        return None
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    return (width, height) if colorspace in _FAST_COLORSPACES else None


def decode_jpeg(data: bytes, size: tuple[int, int], factor: int = 1) -> np.ndarray:
    """RGB pixels at 1/factor size (DCT scaling); raises ValueError on corrupt data."""
    width, height = size
    return simplejpeg.decode_jpeg(
        data,
        colorspace="RGB",
        min_factor=factor,
        min_width=math.ceil(width / factor),
        min_height=math.ceil(height / factor),
    )
