"""A chain of per-value ops on uint8 pixels (ToTensor, Normalize, ToImage, ToDtype...) as
one table lookup.

A uint8 channel has 256 values, so the chain is a 256-entry table per channel. The table
is computed by running the reference kernel itself on a ramp image holding every value
once: whatever float operations torchvision runs, the table holds their exact results,
and one lookup replaces several passes over the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors

from reorder.ir import ConcreteOp, ImageSpec
from reorder.kernels.reference import apply_ops

_MODES = {1: "L", 3: "RGB"}


@lru_cache(maxsize=64)
def _table(ops: tuple[ConcreteOp, ...], channels: int) -> tuple[np.ndarray, type]:
    """(table of shape (out_channels, 256), output tensor type) for uint8 input."""
    ramp = np.arange(256, dtype=np.uint8).reshape(1, 256)
    if channels > 1:
        ramp = np.repeat(ramp[..., None], channels, axis=2)
    out = apply_ops(Image.fromarray(ramp, _MODES[channels]), ops)
    return np.ascontiguousarray(out.numpy()[:, 0, :]), type(out)


def apply_table(
    img: np.ndarray | Image.Image, ops: Sequence[ConcreteOp], spec: ImageSpec
) -> torch.Tensor:
    arr = np.asarray(img)
    channels = 1 if arr.ndim == 2 else arr.shape[2]
    if arr.dtype != np.uint8 or channels not in _MODES:
        pil = img if isinstance(img, Image.Image) else Image.fromarray(arr)
        return apply_ops(pil, ops)
    table, kind = _table(tuple(ops), channels)
    out = np.empty((table.shape[0],) + arr.shape[:2], table.dtype)
    planes = [arr] if arr.ndim == 2 else cv2.split(arr)
    for c in range(table.shape[0]):
        # Normalize broadcasts one gray channel to len(mean) channels, as torchvision does.
        cv2.LUT(planes[min(c, len(planes) - 1)], table[c], dst=out[c])
    result = torch.from_numpy(out)
    return tv_tensors.Image(result) if issubclass(kind, tv_tensors.Image) else result
