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


def pil_rgb_loader(path: str | bytes | os.PathLike) -> Image.Image:
    """torchvision's default loader (`datasets.folder.pil_loader`)."""
    with open(path, "rb") as f:
        img = Image.open(f)
        return img.convert("RGB")


class OpenCVReadError(cv2.error):
    """A file `cv2.imread` cannot read. The reference, `cv2.cvtColor(cv2.imread(path),
    cv2.COLOR_BGR2RGB)`, raises `cv2.error` for it (imread returns None, cvtColor fails
    its assertion), so an `except cv2.error` written for the original catches this too;
    each subclass is also the error Python's own readers raise for the file, and names it."""


class MissingImageFile(OpenCVReadError, FileNotFoundError):
    pass


class ImagePathIsADirectory(OpenCVReadError, IsADirectoryError):
    pass


class UnreadableImageFile(OpenCVReadError, PermissionError):
    pass


class NotAnImageFile(OpenCVReadError, ValueError):
    pass


_OPENCV_OS_ERRORS: dict[type[OSError], type[OpenCVReadError]] = {
    FileNotFoundError: MissingImageFile,
    IsADirectoryError: ImagePathIsADirectory,
    PermissionError: UnreadableImageFile,
}


def _opencv_read_error(path: str) -> OpenCVReadError:
    """Why `cv2.imread(path)` returned None, as an `OpenCVReadError` naming the file."""
    try:
        with open(path, "rb") as f:
            empty = not f.read(1)
    except OSError as exc:
        error = _OPENCV_OS_ERRORS.get(type(exc), UnreadableImageFile)
        return error(exc.errno, f"OpenCV cannot read this file: {exc.strerror}", path)
    what = "it is empty" if empty else "OpenCV cannot decode it as an image"
    if not empty and CV2_MAX_IMAGE_PIXELS < 1 << 30:
        what += f" (or it has more than OPENCV_IO_MAX_IMAGE_PIXELS={CV2_MAX_IMAGE_PIXELS})"
    return NotAnImageFile(f"{path}: {what}")


def cv2_rgb_loader(path: str | bytes | os.PathLike) -> np.ndarray:
    """The albumentations reference loader, `cv2.cvtColor(cv2.imread(path),
    cv2.COLOR_BGR2RGB)`: an RGB uint8 HWC array, EXIF-oriented, read by `cv2.imread`
    itself (it decodes some truncated JPEGs that `cv2.imdecode` refuses). A file it
    cannot read raises an `OpenCVReadError` (a `cv2.error`) saying why."""
    name = os.fsdecode(path)
    bgr = cv2.imread(name)
    if bgr is None:
        raise _opencv_read_error(name)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def tensor_rgb_loader(path: str | bytes | os.PathLike) -> torch.Tensor:
    """`torchvision.io.decode_image(read_file(path), mode=RGB)`: uint8 CHW, as v2 users read."""
    return decode_image(read_file(os.fspath(path)), mode=ImageReadMode.RGB)


def reads_path(path: str | bytes, loader: str) -> bool:
    """Whether the reference `loader` can open a path of this type: torchvision.io's
    `read_file` takes a bytes path for the text of its repr, and fails on every one."""
    return not (isinstance(path, bytes) and loader == "torchvision.io")


# name -> the reference loader a frontend's users read a path with: the plan reads every
# file it does not decode itself with it, so it fails (or not) exactly where they do.
LOADERS: dict[str, Callable[[str], object]] = {
    "pil": pil_rgb_loader,
    "cv2": cv2_rgb_loader,
    "torchvision.io": tensor_rgb_loader,
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
