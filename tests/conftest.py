"""Shared fixtures: small deterministic images in several sizes and formats."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import settings
from PIL import Image
from torchvision.datasets.folder import pil_loader
from torchvision.io import ImageReadMode, decode_image, read_file

from reorder.samples import make_scene

settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True)
settings.register_profile("dev", deadline=None, max_examples=150)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# How each library's users read a file, written as they write it (not reorder's loaders):
# the reference every plan's outcome (output, or exception class) is held to.
def _opencv_user_loader(path):
    return cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)


def _tensor_user_loader(path):
    return decode_image(read_file(path), mode=ImageReadMode.RGB)


USER_LOADERS = {
    "pil": pil_loader,  # ImageFolder's default
    "cv2": _opencv_user_loader,
    "torchvision.io": _tensor_user_loader,
}

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def write_image(
    folder: Path,
    width: int,
    height: int,
    fmt: str = "jpg",
    seed: int = 0,
    *,
    name: str | None = None,
    **save,
) -> str:
    """A scene saved as `fmt`: "<container>[-<mode>]", e.g. "jpg", "png-rgba", "jpg-cmyk".

    Containers: jpg, png, bmp, gif, webp, tif (anything PIL writes by suffix). Modes: l,
    la, 1 (bilevel), rgba, p (palette), cmyk, i16 (16-bit grayscale). `save` goes to
    `Image.save` (e.g. progressive=True, exif=..., subsampling=0); `name` overrides the
    file name (stem), so that variants with other `save` options do not overwrite.
    """
    scene = make_scene(width, height, seed=seed)
    img = Image.fromarray(scene)
    base, _, variant = fmt.partition("-")
    if variant == "l":
        img = img.convert("L")
    elif variant == "rgba":
        img = img.convert("RGBA")
        img.putalpha(
            Image.fromarray(
                (np.arange(width * height) % 251).astype(np.uint8).reshape(height, width)
            )
        )
    elif variant == "p":
        img = img.convert("P", palette=Image.Palette.ADAPTIVE)
    elif variant == "cmyk":
        img = img.convert("CMYK")
    elif variant == "la":
        img = img.convert("LA")
    elif variant == "1":
        img = img.convert("1", dither=Image.Dither.NONE)
    elif variant == "i16":
        img = Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257)  # mode I;16
    stem = name or f"img_{width}x{height}_{fmt}_{seed}"
    path = folder / f"{stem}.{base}"
    if base == "jpg":
        save.setdefault("quality", 90)
    img.save(path, **save)
    return str(path)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, body) of each whole chunk of a PNG, in order; CRCs not checked."""
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if pos + 12 + length > len(data):
            break
        chunks.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def build_png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG of these chunks, each with a correct length and CRC."""
    parts = [PNG_SIGNATURE]
    for kind, body in chunks:
        crc = zlib.crc32(kind + body)
        parts.append(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc))
    return b"".join(parts)


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="session")
def jpeg_set(image_dir) -> list[str]:
    """A few JPEGs of the shapes that matter: landscape, portrait, small."""
    sizes = [(320, 240), (240, 320), (500, 375), (97, 61)]
    return [write_image(image_dir, w, h, "jpg", seed=i) for i, (w, h) in enumerate(sizes)]
