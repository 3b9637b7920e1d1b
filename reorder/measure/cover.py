"""Verification inputs that cover the dataset's geometry, not only the samples' own.

A plan verified on a few samples at their own sizes says nothing about the next image's
geometry: the shrink per axis, the decode factor and the kernel branches all follow from
the input size. The dataset's sizes are read from file headers (cheap: no pixels), and
the user's own photos are cut to each extreme aspect and scaled to each extreme size
(smallest and largest width, height and area, widest and tallest, the quartiles), in the
samples' formats, so that verification meets what the dataset will bring.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
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


# Copies enlarged more than this get a grain of this deviation (0..255 levels).
_ENLARGED = 1.5
_GRAIN = 3.0


def _cut(img: Image.Image, size: Size) -> Image.Image:
    """The centre of `img` at the aspect of `size`, scaled to `size` (a real photo's
    detail at the new geometry, neither stretched nor padded)."""
    width, height = size
    aspect = width / height
    cut_w = min(img.width, max(1, round(img.height * aspect)))
    cut_h = min(img.height, max(1, round(cut_w / aspect)))
    left, top = (img.width - cut_w) // 2, (img.height - cut_h) // 2
    out = img.crop((left, top, left + cut_w, top + cut_h)).resize(size, Image.LANCZOS)
    if width > cut_w * _ENLARGED:
        # An enlarged photo is smoother than a real one of that size, whose sensor noise
        # is the fine detail approximate shrinks alias: give it that grain back.
        arr = np.asarray(out, np.float32)
        noise = np.random.default_rng(width * 7919 + height).normal(0.0, _GRAIN, arr.shape)
        out = Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))
    return out


def _sources(paths: Sequence[str]) -> list[tuple[Image.Image, dict, str]]:
    """The samples Pillow decodes, largest first, each with how to save a copy like it
    and its name."""
    found = []
    for path in paths:
        try:
            with Image.open(path) as img:
                img.load()
                save: dict = {"format": "PNG"}
                if img.format == "JPEG":
                    sampling = JpegImagePlugin.get_sampling(img)
                    save = {"format": "JPEG", "quality": 90}
                    if sampling >= 0:
                        save["subsampling"] = sampling
                mode = img.mode if img.mode in ("RGB", "L") else "RGB"
                found.append((img.convert(mode), save, Path(path).stem))
        except Exception:  # the verifier sees what the original does with such a file
            continue
    return sorted(found, key=lambda source: -source[0].width * source[0].height)


# Copies up to this many pixels are cheap to verify: one from every sample, since an
# approximate stage's error depends on content as well as geometry (a dark sky hides
# what a motorcycle's edges show). Larger ones come from one sample each, in turn.
_EVERY_SAMPLE_PIXELS = 1_000_000


def spread_sizes(sizes: Sequence[Size], count: int) -> list[Size]:
    """Up to `count` distinct sizes of `sizes` at evenly spaced quantiles of area,
    smallest first: where a deterministic pipeline's geometry lies between the extremes."""
    distinct = sorted(set(sizes), key=lambda s: (s[0] * s[1], s))
    if len(distinct) <= count:
        return distinct
    step = (len(distinct) - 1) / (count - 1)
    return list(dict.fromkeys(distinct[round(i * step)] for i in range(count)))


def neighbour_sizes(sizes: Sequence[Size]) -> list[Size]:
    """Sizes near each of `sizes` (0.8x and 1.25x, and each axis 0.85x): where the next
    images of a dataset known only by its samples likely lie."""
    near = []
    for width, height in dict.fromkeys(sizes):
        near += [(round(width * f), round(height * f)) for f in (0.8, 1.25)]
        near += [(width, round(height * 0.85)), (round(width * 0.85), height)]
    return [s for s in dict.fromkeys(near) if min(s) >= 1]


def copies_at(
    samples: Sequence[str], sizes: Iterable[Size], folder: str | os.PathLike
) -> Iterator[str]:
    """Copies of the samples at each of `sizes` (from every sample up to a megapixel,
    else from one in turn; never a sample at its own size), written to `folder` one at a
    time, as they are asked for; their paths."""
    sources = _sources(samples)
    if not sources:
        return
    for index, size in enumerate(sizes):
        if math.prod(size) > (Image.MAX_IMAGE_PIXELS or math.inf):
            continue
        every = math.prod(size) <= _EVERY_SAMPLE_PIXELS
        for img, save, name in sources if every else [sources[index % len(sources)]]:
            if img.size == size:
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
