"""The intermediate representation: image specs, concrete ops, logical and physical plans."""

from reorder.ir.envelope import Envelope
from reorder.ir.logical import LogicalOp, LogicalPipeline, OpModel
from reorder.ir.ops import (
    ColorAdjust,
    ConcreteOp,
    ConvertDtype,
    Crop,
    CvResize,
    Flip,
    Gray,
    Normalize,
    Pad,
    Resize,
    Rotate,
    TensorResize,
    ToDtype,
    ToFloat,
    ToImage,
    ToUint8Tensor,
    TransformApply,
)
from reorder.ir.physical import PhysicalPlan, Segment, Stage
from reorder.ir.spec import ImageSpec

__all__ = [
    "Envelope",
    "ColorAdjust",
    "ConcreteOp",
    "ConvertDtype",
    "Crop",
    "CvResize",
    "Flip",
    "Gray",
    "ImageSpec",
    "LogicalOp",
    "LogicalPipeline",
    "Normalize",
    "OpModel",
    "Pad",
    "PhysicalPlan",
    "Resize",
    "Rotate",
    "Segment",
    "Stage",
    "TensorResize",
    "ToDtype",
    "ToFloat",
    "ToImage",
    "ToUint8Tensor",
    "TransformApply",
]
