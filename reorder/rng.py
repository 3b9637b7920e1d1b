"""The RNG streams a pipeline may draw from, seeded and compared together."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def rng_state() -> tuple[Any, ...]:
    return (torch.get_rng_state(), random.getstate(), np.random.get_state())


def set_rng_state(state: tuple[Any, ...]) -> None:
    torch.set_rng_state(state[0])
    random.setstate(state[1])
    np.random.set_state(state[2])


def states_equal(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    np_a, np_b = a[2], b[2]
    return (
        torch.equal(a[0], b[0])
        and a[1] == b[1]
        and np_a[0] == np_b[0]
        and np.array_equal(np_a[1], np_b[1])
        and tuple(np_a[2:]) == tuple(np_b[2:])
    )


class preserved_rng:
    """Context manager: draws inside it leave every stream as it was."""

    def __enter__(self) -> None:
        self._state = rng_state()

    def __exit__(self, *exc: object) -> None:
        set_rng_state(self._state)
