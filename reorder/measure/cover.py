"""Verification inputs that cover the dataset's geometry, not only the samples' own.

A plan verified on a few samples at their own sizes says nothing about the next image's
geometry: the shrink per axis, the decode factor and the kernel branches all follow from
the input size. The dataset's sizes are read from file headers (cheap: no pixels), and
the user's own photos are cut to each extreme aspect and scaled to each extreme size
(the smallest, largest, widest, tallest and a middle one), in the samples' formats, so
that verification meets what the dataset will bring.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from PIL import Image, JpegImagePlugin

Size = tuple[int, int]


def header_sizes(paths: Iterable[str]) -> list[Size]:
    """(width, height) of every file whose header Pillow reads; others are skipped."""
    sizes = []
    for path in paths:
        try:
            with Image.open(path) as img:
                sizes.append(img.size)
        except Exception:  # the verifier sees what the original does with such a file
            continue
    return sizes


def extreme_sizes(sizes: Sequence[Size]) -> list[Size]:
    """The sizes that bound `sizes`: smallest and largest width, height and area,
    widest and tallest aspect, and the quartiles of area; each once. (The runtime bounds
    width, height and aspect separately, so each extreme is met by some verified input;
    the quartiles fill in the shrinks between.)"""
    if not sizes:
        return []
    picks = []
    for key in (
        lambda s: (s[0] * s[1], s),
        lambda s: (s[0], s),
        lambda s: (s[1], s),
        lambda s: (s[0] / s[1], s),
    ):
        ordered = sorted(sizes, key=key)
        picks += [ordered[0], ordered[-1]]
    by_area = sorted(sizes, key=lambda s: (s[0] * s[1], s))
    picks += [by_area[len(sizes) * q // 4] for q in (1, 2, 3)]
    return list(dict.fromkeys(picks))


def _cut(img: Image.Image, size: Size) -> Image.Image:
    """The centre of `img` at the aspect of `size`, scaled to `size` (a real photo's
    detail at the new geometry, neither stretched nor padded)."""
    width, height = size
    aspect = width / height
    cut_w = min(img.width, max(1, round(img.height * aspect)))
    cut_h = min(img.height, max(1, round(cut_w / aspect)))
    left, top = (img.width - cut_w) // 2, (img.height - cut_h) // 2
    return img.crop((left, top, left + cut_w, top + cut_h)).resize(size, Image.LANCZOS)


def _source(paths: Sequence[str]) -> tuple[Image.Image, dict, str] | None:
    """The largest sample Pillow decodes (most detail), and how to save a copy like it."""
    best: tuple[int, str] | None = None
    for path in paths:
        try:
            with Image.open(path) as img:
                area = img.width * img.height
        except Exception:
            continue
        if best is None or area > best[0]:
            best = (area, path)
    if best is None:
        return None
    with Image.open(best[1]) as img:
        img.load()
        save = {"format": "PNG"}
        if img.format == "JPEG":
            sampling = JpegImagePlugin.get_sampling(img)
            save = {"format": "JPEG", "quality": 90}
            if sampling >= 0:
                save["subsampling"] = sampling
        mode = img.mode if img.mode in ("RGB", "L") else "RGB"
        return img.convert(mode), save, Path(best[1]).stem


def spread_sizes(sizes: Sequence[Size], count: int) -> list[Size]:
    """Up to `count` distinct sizes of `sizes` at evenly spaced quantiles of area,
    smallest first: where a deterministic pipeline's geometry lies between the extremes."""
    distinct = sorted(set(sizes), key=lambda s: (s[0] * s[1], s))
    if len(distinct) <= count:
        return distinct
    step = (len(distinct) - 1) / (count - 1)
    return list(dict.fromkeys(distinct[round(i * step)] for i in range(count)))


def copies_at(
    samples: Sequence[str], sizes: Iterable[Size], folder: str | os.PathLike
) -> Iterator[str]:
    """Copies of the largest sample at each of `sizes` that no sample has already,
    written to `folder` one at a time, as they are asked for; their paths."""
    source = _source(samples)
    if source is None:
        return
    img, save, name = source
    own = set(header_sizes(samples))
    for size in sizes:
        if size in own or math.prod(size) > (Image.MAX_IMAGE_PIXELS or math.inf):
            continue
        suffix = ".jpg" if save["format"] == "JPEG" else ".png"
        path = Path(folder) / f"{name}_cut_to_{size[0]}x{size[1]}{suffix}"
        if not path.exists():
            _cut(img, size).save(path, **save)
        yield str(path)


def cover_images(
    samples: Sequence[str], dataset_sizes: Sequence[Size], folder: str | os.PathLike
) -> list[str]:
    """Copies of the largest sample at each extreme size of the dataset that no sample
    has already, written to `folder`; their paths."""
    return list(copies_at(samples, extreme_sizes(dataset_sizes), folder))
