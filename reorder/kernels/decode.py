"""Decoders from file bytes to RGB pixels, and the reference loaders they must match.

Three references: for torchvision, what `ImageFolder` does:
`PIL.Image.open(path).convert("RGB")` (no EXIF rotation), or, for v2 pipelines on tensors,
`torchvision.io.decode_image(read_file(path), mode=RGB)` (a uint8 CHW tensor, no EXIF
rotation); for albumentations, OpenCV's `cv2.imread` + `cvtColor(BGR2RGB)` (which applies
EXIF orientation). libjpeg-turbo through simplejpeg decodes baseline/progressive YCbCr and
grayscale JPEGs to the same bytes as all three, faster, and can decode at 1/2, 1/4 or 1/8
size in the DCT domain. Other files and colour spaces, and for OpenCV rotated ones, go
through the reference loader.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable

import cv2
import numpy as np
import simplejpeg
import torch
from PIL import Image
from torchvision.io import ImageReadMode, decode_image, read_file

# Colour spaces libjpeg-turbo converts to RGB exactly as Pillow does.
_FAST_COLORSPACES = ("YCbCr", "Gray")


def pil_rgb_loader(path: str | os.PathLike) -> Image.Image:
    """torchvision's default loader (`datasets.folder.pil_loader`)."""
    with open(path, "rb") as f:
        img = Image.open(f)
        return img.convert("RGB")


def pil_rgb_from_bytes(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def cv2_rgb_from_bytes(data: bytes) -> np.ndarray:
    """`cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)`, from the file's bytes.

    `cv2.imread` returns None for a file it cannot read, and `cvtColor` then fails with an
    assertion; this says what happened instead (the caller adds the path).
    """
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if bgr is None:
        raise ValueError("OpenCV cannot decode this file as an image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def cv2_rgb_loader(path: str | os.PathLike) -> np.ndarray:
    """The albumentations reference loader: an RGB uint8 HWC array, EXIF-oriented."""
    with open(path, "rb") as f:
        return cv2_rgb_from_bytes(f.read())


def tensor_rgb_loader(path: str | os.PathLike) -> torch.Tensor:
    """`torchvision.io.decode_image(read_file(path), mode=RGB)`: uint8 CHW, as v2 users read."""
    return decode_image(read_file(os.fspath(path)), mode=ImageReadMode.RGB)


def tensor_rgb_from_bytes(data: bytes) -> torch.Tensor:
    if not data:  # what read_file raises for an empty file
        raise RuntimeError("read_file: expected a non empty file")
    encoded = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return decode_image(encoded, mode=ImageReadMode.RGB)


# name -> (path loader, bytes decoder): the reference a frontend's users load with.
LOADERS: dict[str, tuple[Callable[..., object], Callable[[bytes], object]]] = {
    "pil": (pil_rgb_loader, pil_rgb_from_bytes),
    "cv2": (cv2_rgb_loader, cv2_rgb_from_bytes),
    "torchvision.io": (tensor_rgb_loader, tensor_rgb_from_bytes),
}


# cv2.imread refuses images above this many pixels (read from the environment once, as
# OpenCV does); the fast decoder must not decode what the reference would refuse.
CV2_MAX_IMAGE_PIXELS = int(os.environ.get("OPENCV_IO_MAX_IMAGE_PIXELS", 1 << 30))


def _exif_rotated(data: bytes) -> bool:
    """Whether the JPEG's EXIF orientation asks a viewer (and cv2.imread) to rotate it."""
    if b"Exif" not in data[: 2**16]:
        return False
    try:
        return Image.open(io.BytesIO(data)).getexif().get(0x0112, 1) not in (1, None)
    except Exception:  # unreadable EXIF: let the reference loader decide
        return True


def jpeg_size(data: bytes, loader: str = "pil") -> tuple[int, int] | None:
    """(width, height) of a JPEG simplejpeg decodes like the `loader`, else None."""
    if data[:3] != b"\xff\xd8\xff":
        return None
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        return None
    if colorspace not in _FAST_COLORSPACES:
        return None
    if loader == "cv2" and (width * height > CV2_MAX_IMAGE_PIXELS or _exif_rotated(data)):
        return None
    return width, height


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
