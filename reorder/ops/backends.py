"""The stage kernels that run op by op, each trying its backends in order.

A stage naming one of these runs each of its concrete ops with the first backend that
registered a kernel doing that op there (see `ops.registry`), else with the reference.
Adding an op with an OpenCV kernel registers it under a backend; nothing here changes.
"""

from __future__ import annotations

from reorder.ops.box import leading_resize_factor
from reorder.ops.colour import OPENCV_COLOUR
from reorder.ops.geometry import OPENCV, OPENCV_AREA, OPENCV_BLUR, TORCH
from reorder.ops.registry import REFERENCE, full_resolution, per_op_kernel, register_kernel

REFERENCE_KERNEL = register_kernel(
    per_op_kernel(
        REFERENCE,
        (),
        "torchvision.transforms.functional, op by op (what the original runs)",
        leading_resize_factor,
    )
)
CV = register_kernel(
    per_op_kernel(
        "cv",
        (OPENCV,),
        "OpenCV where it matches PIL on the op and its input, else the reference",
        leading_resize_factor,
    )
)
CV_AREA = register_kernel(
    per_op_kernel(
        "cv_area",
        (OPENCV_AREA, OPENCV),
        "as cv, and antialiased downscales as OpenCV's pixel-area average or blur and sample",
        leading_resize_factor,
    )
)
# Named for the blur that stands in for PIL's filter before a plain sample ("cv_blur"
# in plan files).
CV_BLUR = register_kernel(
    per_op_kernel(
        "cv_blur",
        (OPENCV_BLUR, OPENCV),
        "as cv, and bilinear shrinks of up to 3x as a blur of the filter's width and a sample",
        leading_resize_factor,
    )
)
CV_TORCH = register_kernel(
    per_op_kernel(
        "cv_torch",
        (TORCH, OPENCV),
        "as cv, and bilinear and bicubic resizes through PyTorch's uint8 antialiased filter",
        leading_resize_factor,
    )
)
CV_COLOR = register_kernel(
    per_op_kernel(
        "cv_color",
        (OPENCV_COLOUR,),
        "ColorJitter and grayscale with Pillow's float32 blends and 8-bit HSV, in OpenCV",
        full_resolution,
    )
)
