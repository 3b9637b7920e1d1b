"""Blur: torchvision's Gaussian blurs, with the OpenCV kernel that does them.

torchvision blurs a PIL image as a float32 tensor: it pads by reflection (the edge pixel
not repeated), convolves each channel with the outer product of two normalized float32
1-D Gaussians, rounds half to even and converts back. v1 and v2 compute those weights
differently (v2 as a softmax), so a few values in 10^5 round the other way between them:
each has its own op type, and each kernel uses its frontend's own weights.

OpenCV's separable filter with the same weights and the same border (backend `opencv`,
on HWC uint8 arrays or HW gray ones) computes the same sums in another order: on photos
from 23 px to 4032 px, with kernels of 3 to 23 px, about one value in 10^5 rounds the
other way (never by more than one level; about half the cases byte-identical), 15-30x
faster than torchvision's 2-D convolution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from torchvision.transforms import _functional_tensor as F_t
from torchvision.transforms import functional as F
from torchvision.transforms.v2 import functional as F2
from torchvision.transforms.v2.functional import _misc as F2_misc

from reorder.ir.op import ConcreteOp
from reorder.ir.spec import ImageSpec
from reorder.ops.geometry import OPENCV
from reorder.ops.registry import (
    Branch,
    Container,
    register_cost,
    register_op_kernel,
    register_reference,
)


@dataclass(frozen=True)
class GaussianBlur(ConcreteOp):
    """One blur as torchvision v1's `F.gaussian_blur` takes it: sizes and deviations, (x, y)."""

    kernel_size: tuple[int, int]
    sigma: tuple[float, float]

    def fits(self, spec: ImageSpec) -> bool:
        """Whether the reflection padding fits in the image: torch refuses to pad by as
        many pixels as the side has (where OpenCV would reflect again)."""
        return self.kernel_size[0] // 2 < spec.width and self.kernel_size[1] // 2 < spec.height


@dataclass(frozen=True)
class V2GaussianBlur(GaussianBlur):
    """The same blur by torchvision v2's `gaussian_blur`, with v2's own weights."""


# -- reference kernels -------------------------------------------------------------------


@register_reference(GaussianBlur, cost="reference:gaussian_blur")
def _gaussian_blur(img: Any, op: GaussianBlur) -> Any:
    return F.gaussian_blur(img, list(op.kernel_size), list(op.sigma))


@register_reference(V2GaussianBlur, cost="reference:gaussian_blur")
def _v2_gaussian_blur(img: Any, op: V2GaussianBlur) -> Any:
    return F2.gaussian_blur(img, list(op.kernel_size), list(op.sigma))


# -- OpenCV kernel -----------------------------------------------------------------------

Weights = Callable[[int, float, torch.dtype, torch.device], torch.Tensor]


def separable_blur(arr: np.ndarray, op: GaussianBlur, weights: Weights) -> np.ndarray:
    """A torchvision blur of a uint8 image as a separable float32 filter, with the 1-D
    `weights` torchvision computes (so both sum the same float32 numbers)."""
    cpu = torch.device("cpu")
    kernel_x = weights(op.kernel_size[0], op.sigma[0], torch.float32, cpu).numpy()
    kernel_y = weights(op.kernel_size[1], op.sigma[1], torch.float32, cpu).numpy()
    out = cv2.sepFilter2D(arr, cv2.CV_32F, kernel_x, kernel_y, borderType=cv2.BORDER_REFLECT_101)
    # The weights are positive and sum to one: the values stay within 0..255. np.rint
    # rounds half to even, as torch.round does.
    return np.rint(out, out=out).astype(np.uint8)


def _opencv(weights: Weights) -> Branch:
    # Not byte-identical (float sums in another order): approximate, so the runtime runs
    # it only where verification saw it.
    def run(arr: np.ndarray, op: GaussianBlur) -> np.ndarray:
        return separable_blur(arr, op, weights)

    return Branch("gaussian_blur", run, Container.ARRAY, True, cost="cv_gaussian_blur")


_V1_BLUR = _opencv(F_t._get_gaussian_kernel1d)
_V2_BLUR = _opencv(F2_misc._get_gaussian_kernel1d)
# Where the padding does not fit, the reference raises, as the original does.
register_op_kernel(GaussianBlur, OPENCV)(lambda op, spec: _V1_BLUR if op.fits(spec) else None)
register_op_kernel(V2GaussianBlur, OPENCV)(lambda op, spec: _V2_BLUR if op.fits(spec) else None)

# -- cost classes ------------------------------------------------------------------------

# A float convolution costs many times a resize, and grows with the kernel (torchvision's
# 2-D one with its area, OpenCV's separable one with its side): both are measured on a
# mid-sized kernel.
_PROBE = GaussianBlur((9, 9), (2.0, 2.0))
register_cost("reference:gaussian_blur", lambda c: _gaussian_blur(c.pil, _PROBE), touched=2.0)
register_cost("cv_gaussian_blur", lambda c: _V1_BLUR.run(c.array, _PROBE), touched=2.0)
