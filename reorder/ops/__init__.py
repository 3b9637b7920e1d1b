"""Op families: each module holds its concrete ops, their traits and every kernel that
implements them, registered next to the code (see `ops.registry`).

Importing this package imports every family, so the registries are complete.
"""

from reorder.ops import backends, box, colour, conversion, geometry, own, warp
from reorder.ops.colour import ColorAdjust, Gray
from reorder.ops.conversion import ConvertDtype, Normalize, ToDtype, ToFloat, ToImage, ToUint8Tensor
from reorder.ops.geometry import Crop, CvResize, Flip, Pad, Resize, Rotate, TensorResize
from reorder.ops.own import TransformApply
from reorder.ops.registry import COST_PROBES, KERNELS, OP_KERNELS, REFERENCE, Kernel

__all__ = [
    "COST_PROBES",
    "KERNELS",
    "OP_KERNELS",
    "REFERENCE",
    "ColorAdjust",
    "ConvertDtype",
    "Crop",
    "CvResize",
    "Flip",
    "Gray",
    "Kernel",
    "Normalize",
    "Pad",
    "Resize",
    "Rotate",
    "TensorResize",
    "ToDtype",
    "ToFloat",
    "ToImage",
    "ToUint8Tensor",
    "TransformApply",
    "backends",
    "box",
    "colour",
    "conversion",
    "geometry",
    "own",
    "warp",
]
