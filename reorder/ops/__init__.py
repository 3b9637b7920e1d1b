"""Op families: each module holds its concrete ops, their traits and every kernel that
implements them, registered next to the code (see `ops.registry`). Import an op from its
family module (`reorder.ops.geometry.Resize`).

Importing this package imports every family, so the registries are complete: a new
family module is one name in the import below.
"""

from reorder.ops import backends, blur, box, colour, conversion, geometry, own, warp
from reorder.ops.registry import COST_PROBES, KERNELS, OP_KERNELS, REFERENCE, Kernel

__all__ = [
    "COST_PROBES",
    "KERNELS",
    "OP_KERNELS",
    "REFERENCE",
    "Kernel",
    "backends",
    "blur",
    "box",
    "colour",
    "conversion",
    "geometry",
    "own",
    "warp",
]
