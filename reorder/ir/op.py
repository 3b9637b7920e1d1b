"""What every concrete op is: one logical op with its random parameters already drawn.

A frontend turns each user transform plus an input spec into a short list of these; the
kernels registered for its type apply them. They carry no pixels and no randomness, so
they print, compare and serialize like plain data. Coordinates are in pixels of the op's
own input. The concrete op types live with their kernels, one module per op family
(`reorder.ops`).
"""

from __future__ import annotations

from reorder.ir.spec import ImageSpec


class ConcreteOp:
    """Base class: by default an op keeps the image's size, channels and container."""

    def output_spec(self, spec: ImageSpec) -> ImageSpec:
        return spec
