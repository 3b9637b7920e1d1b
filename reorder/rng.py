"""The RNG streams a pipeline may draw from, seeded, saved and compared together."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

# name -> (get state, set state). Frontends say which ones their transforms draw from.
STREAMS: dict[str, tuple[Any, Any]] = {
    "torch": (torch.get_rng_state, torch.set_rng_state),
    "python": (random.getstate, random.setstate),
    "numpy": (np.random.get_state, np.random.set_state),
}
ALL_STREAMS = tuple(STREAMS)


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def rng_state(streams: Sequence[str] = ALL_STREAMS) -> tuple[Any, ...]:
    return tuple(STREAMS[name][0]() for name in streams)


def set_rng_state(state: tuple[Any, ...], streams: Sequence[str] = ALL_STREAMS) -> None:
    for name, value in zip(streams, state, strict=True):
        STREAMS[name][1](value)


def states_equal(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """Equality of two `rng_state()` results over all streams."""
    torch_a, python_a, numpy_a = a
    torch_b, python_b, numpy_b = b
    return (
        torch.equal(torch_a, torch_b)
        and python_a == python_b
        and numpy_a[0] == numpy_b[0]
        and np.array_equal(numpy_a[1], numpy_b[1])
        and tuple(numpy_a[2:]) == tuple(numpy_b[2:])
    )


class preserved_rng:
    """Context manager: draws inside it leave every stream as it was."""

    def __enter__(self) -> None:
        self._state = rng_state()

    def __exit__(self, *exc: object) -> None:
        set_rng_state(self._state)
