"""The intermediate representation: image specs, traits, logical and physical plans."""

from reorder.ir.envelope import Envelope
from reorder.ir.logical import LogicalOp, LogicalPipeline, OpModel
from reorder.ir.op import ConcreteOp
from reorder.ir.physical import PhysicalPlan, Segment, Stage
from reorder.ir.spec import ImageSpec
from reorder.ir.traits import NO_TRAITS, Trait

__all__ = [
    "NO_TRAITS",
    "ConcreteOp",
    "Envelope",
    "ImageSpec",
    "LogicalOp",
    "LogicalPipeline",
    "OpModel",
    "PhysicalPlan",
    "Segment",
    "Stage",
    "Trait",
]
