"""Deterministic, photograph-like test scenes, so the demo and tests need no downloads.

A scene is a sky gradient over 1/f ("pink") noise terrain, a few soft-edged objects and a
fine grain, which gives JPEG the mix of smooth areas, edges and texture real photos have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

# (name, width, height) of the demo sets: a phone photo, a video frame, and the two
# small sizes of the design card's table.
DEMO_SIZES: tuple[tuple[str, int, int], ...] = (
    ("photo_4032x3024", 4032, 3024),
    ("frame_1920x1080", 1920, 1080),
    ("imagenet_500x375", 500, 375),
    ("portrait_384x512", 384, 512),
)


def _pink_noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Noise with a 1/f spectrum, scaled to 0..1; computed at most 1024 px and upsampled."""
    h, w = min(height, 1024), min(width, 1024)
    spectrum = np.fft.rfft2(rng.standard_normal((h, w)))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    spectrum /= np.maximum(np.hypot(fx, fy), 1.0 / max(h, w))
    field = np.fft.irfft2(spectrum, s=(h, w))
    field = (field - field.min()) / (np.ptp(field) + 1e-9)
    if (h, w) != (height, width):
        img = Image.fromarray((field * 65535).astype(np.uint16).astype(np.int32), mode="I")
        field = np.asarray(img.resize((width, height), Image.BICUBIC), np.float64) / 65535
    return field


def make_scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """An RGB uint8 scene of the given size; the same seed gives the same pixels."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, height)[:, None]
    xx = np.linspace(0.0, 1.0, width)[None, :]
    sky = np.stack([0.45 + 0.3 * yy, 0.6 + 0.25 * yy, 0.95 - 0.1 * yy], -1) * np.ones((1, width, 1))
    terrain = _pink_noise(rng, height, width)
    horizon = 0.45 + 0.15 * np.sin(xx * rng.uniform(3, 9) + rng.uniform(0, 6))
    ground_mask = np.clip((yy - horizon) * 40 + terrain * 4 - 2, 0, 1)[..., None]
    ground_color = np.stack([0.35 + 0.4 * terrain, 0.45 + 0.3 * terrain, 0.2 + 0.2 * terrain], -1)
    img = sky * (1 - ground_mask) + ground_color * ground_mask
    for _ in range(6):
        cx, cy = rng.uniform(0.1, 0.9), rng.uniform(0.3, 0.9)
        radius = rng.uniform(0.03, 0.12)
        dist = np.hypot((xx - cx) * width / height, yy - cy)
        edge = np.clip((radius - dist) * height / 3.0, 0, 1)[..., None]
        img = img * (1 - edge) + rng.uniform(0.05, 0.95, 3) * edge
    grain = rng.standard_normal((height, width, 1)).astype(np.float32) * 0.025
    return (np.clip(img + grain, 0, 1) * 255 + 0.5).astype(np.uint8)


def write_sample_images(folder: str | Path, per_size: int = 4, quality: int = 90) -> list[Path]:
    """Write `per_size` JPEG scenes for each demo size into `folder` (kept if present)."""
    folder = Path(folder)
    paths = []
    for name, width, height in DEMO_SIZES:
        subdir = folder / name
        subdir.mkdir(parents=True, exist_ok=True)
        for i in range(per_size):
            path = subdir / f"{name}_{i}.jpg"
            if not path.exists():
                scene = make_scene(width, height, seed=width * 100003 + height * 101 + i)
                Image.fromarray(scene).save(path, quality=quality)
            paths.append(path)
    return paths
