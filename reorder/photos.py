"""Real photographs (scikit-image's and matplotlib's own: `pip install "reorder[test]"`),
cut and scaled to the sizes and aspects datasets hold, in the formats they come in.

`PLANNING` are four photos of common sizes, what a user plans on; `UNSEEN` are others,
from 23 px thumbnails to 4032 px phone photos, panoramas and portraits, JPEG 4:2:0 and
4:4:4 at qualities 75-97, PNG and grayscale: what a plan meets next. Upscaled photos get
a sensor-like grain, so large files carry the fine detail that makes downscaling alias.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image


def _sources() -> dict[str, Image.Image]:
    from matplotlib import cbook
    from skimage import data

    photos = {
        name: Image.fromarray(getattr(data, name)())
        for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "camera")
    }
    photos["motorcycle"] = Image.fromarray(data.stereo_motorcycle()[0])
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photos["hopper"] = Image.open(f).convert("RGB")
    return photos


# (name, source photo, width, height, format, quality, subsampling). Subsampling: 2 is
# 4:2:0, 0 is 4:4:4.
PLANNING = (
    ("plan_500x375", "chelsea", 500, 375, "JPEG", 90, 2),
    ("plan_375x500", "coffee", 375, 500, "JPEG", 90, 2),
    ("plan_640x427", "motorcycle", 640, 427, "JPEG", 85, 2),
    ("plan_1023x768", "hubble_deep_field", 1023, 768, "JPEG", 90, 2),
)
UNSEEN = (
    ("thumb_23x15", "astronaut", 23, 15, "JPEG", 90, 2),
    ("thumb_15x23", "rocket", 15, 23, "JPEG", 75, 2),
    ("tiny_31x47", "coffee", 31, 47, "PNG", None, None),
    ("small_64x48", "chelsea", 64, 48, "JPEG", 95, 0),
    ("small_97x61", "hopper", 97, 61, "JPEG", 80, 2),
    ("odd_129x257", "rocket", 129, 257, "JPEG", 90, 2),
    ("odd_257x129", "motorcycle", 257, 129, "JPEG", 90, 0),
    ("square_250x250", "astronaut", 250, 250, "PNG", None, None),
    ("voc_333x501", "rocket", 333, 501, "JPEG", 75, 2),
    ("voc_334x501", "hopper", 334, 501, "JPEG", 97, 0),
    ("imagenet_500x375", "astronaut", 500, 375, "JPEG", 75, 2),
    ("imagenet_375x500", "hopper", 375, 500, "JPEG", 90, 2),
    ("imagenet_500x333", "coffee", 500, 333, "PNG", None, None),
    ("gray_480x360", "camera", 480, 360, "JPEG", 90, None),
    ("vga_640x480", "chelsea", 640, 480, "JPEG", 97, 0),
    ("vga_480x640", "motorcycle", 480, 640, "JPEG", 85, 2),
    ("svga_800x600", "hopper", 800, 600, "JPEG", 90, 2),
    ("xga_1023x768", "astronaut", 1023, 768, "JPEG", 90, 2),
    ("square_1024x1024", "coffee", 1024, 1024, "JPEG", 80, 2),
    ("hd_1280x720", "hubble_deep_field", 1280, 720, "JPEG", 90, 0),
    ("photo_1500x1000", "chelsea", 1500, 1000, "JPEG", 90, 2),
    ("photo_1920x1281", "motorcycle", 1920, 1281, "JPEG", 90, 2),
    ("fhd_1920x1080", "astronaut", 1920, 1080, "JPEG", 85, 2),
    ("fhd_1080x1920", "rocket", 1080, 1920, "JPEG", 90, 2),
    ("photo_2000x1500", "hopper", 2000, 1500, "JPEG", 97, 0),
    ("panorama_2400x600", "motorcycle", 2400, 600, "JPEG", 90, 2),
    ("panorama_600x2400", "rocket", 600, 2400, "JPEG", 90, 2),
    ("portrait_790x2688", "coffee", 790, 2688, "JPEG", 90, 2),
    ("portrait_788x2688", "hopper", 788, 2688, "JPEG", 75, 2),
    ("phone_4032x3024", "chelsea", 4032, 3024, "JPEG", 90, 2),
    ("phone_3024x4032", "astronaut", 3024, 4032, "JPEG", 85, 2),
    ("phone_4032x3026", "hubble_deep_field", 4032, 3026, "JPEG", 95, 0),
)


def _cut(img: Image.Image, width: int, height: int, seed: int) -> Image.Image:
    """The centre of `img` at the target aspect, scaled to the target size; grain where
    it was enlarged."""
    aspect = width / height
    cut_w = min(img.width, max(1, round(img.height * aspect)))
    cut_h = min(img.height, max(1, round(cut_w / aspect)))
    left, top = (img.width - cut_w) // 2, (img.height - cut_h) // 2
    out = img.crop((left, top, left + cut_w, top + cut_h)).resize((width, height), Image.LANCZOS)
    if width > cut_w * 1.5:
        arr = np.asarray(out, np.float32)
        grain = np.random.default_rng(seed).normal(0, 3.0, arr.shape[:2] + (1,) * (arr.ndim - 2))
        out = Image.fromarray(np.clip(arr + grain, 0, 255).astype(np.uint8))
    return out


def write_photos(folder: str | os.PathLike, entries=PLANNING + UNSEEN) -> dict[str, str]:
    """Each entry written once into `folder` (kept if present): name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sources: dict[str, Image.Image] | None = None
    paths = {}
    for seed, (name, source, width, height, fmt, quality, subsampling) in enumerate(entries):
        path = folder / f"{name}.{'jpg' if fmt == 'JPEG' else 'png'}"
        if not path.exists():
            sources = sources or _sources()
            img = _cut(sources[source], width, height, seed)
            options = {}
            if fmt == "JPEG":
                options = {"quality": quality}
                if subsampling is not None:
                    options["subsampling"] = subsampling
            partial = path.with_suffix(f".{os.getpid()}.partial")  # xdist workers share it
            img.save(partial, format=fmt, **options)
            partial.replace(path)
        paths[name] = str(path)
    return paths
