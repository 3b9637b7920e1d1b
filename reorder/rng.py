"""The RNG streams a pipeline may draw from, seeded, saved and compared together.

Two kinds: the global streams (torch, Python `random`, NumPy's legacy global state), named
in `STREAMS`; and generator objects a library's transforms own (albumentations gives each
transform a `random.Random` and a `numpy.random.Generator`), passed as `generators`.
"""

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


def _generator_state(generator: Any) -> Any:
    if isinstance(generator, np.random.Generator):
        return generator.bit_generator.state
    return generator.getstate()


def _set_generator_state(generator: Any, state: Any) -> None:
    if isinstance(generator, np.random.Generator):
        generator.bit_generator.state = state
    else:
        generator.setstate(state)


def _seed_generator(generator: Any, seed: int) -> None:
    """Reseed in place: the transforms keep their references to the same objects."""
    if isinstance(generator, np.random.Generator):
        generator.bit_generator.state = type(generator.bit_generator)(seed).state
    else:
        generator.seed(seed)


def seed_all(seed: int, generators: Sequence[Any] = ()) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    for index, generator in enumerate(generators):
        _seed_generator(generator, seed * 1009 + index)


def rng_state(
    streams: Sequence[str] = ALL_STREAMS, generators: Sequence[Any] = ()
) -> tuple[Any, ...]:
    return tuple(STREAMS[name][0]() for name in streams) + tuple(
        _generator_state(g) for g in generators
    )


def set_rng_state(
    state: tuple[Any, ...], streams: Sequence[str] = ALL_STREAMS, generators: Sequence[Any] = ()
) -> None:
    for name, value in zip(streams, state[: len(streams)], strict=True):
        STREAMS[name][1](value)
    for generator, value in zip(generators, state[len(streams) :], strict=True):
        _set_generator_state(generator, value)


def states_equal(a: Any, b: Any) -> bool:
    """Equality of two `rng_state()` results (tensors, arrays, tuples and dicts within)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(states_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(states_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def _device_state() -> Any:
    """CUDA's generators: their states once CUDA is initialized; before that, the seeds
    `torch.manual_seed` queued for its initialization (a seed it would apply later)."""
    if not hasattr(torch, "cuda"):
        return None
    if torch.cuda.is_initialized():
        return ("states", torch.cuda.get_rng_state_all())
    tracker = getattr(torch.cuda, "_lazy_seed_tracker", None)
    if tracker is None:
        return None
    return ("queued", tracker.manual_seed_all_cb, tracker.manual_seed_cb, list(tracker.call_order))


def _set_device_state(state: Any) -> None:
    if state is None:
        return
    if state[0] == "states":
        torch.cuda.set_rng_state_all(state[1])
    elif not torch.cuda.is_initialized():
        tracker = torch.cuda._lazy_seed_tracker
        tracker.manual_seed_all_cb, tracker.manual_seed_cb, tracker.call_order = state[1:]


class preserved_rng:
    """Context manager: draws inside it leave every stream (and `generators`) as it was;
    with `devices`, CUDA's generators too (for planning, which seeds them all)."""

    def __init__(self, generators: Sequence[Any] = (), devices: bool = False) -> None:
        self._generators = tuple(generators)
        self._devices = devices

    def __enter__(self) -> None:
        self._state = rng_state(generators=self._generators)
        self._device = _device_state() if self._devices else None

    def __exit__(self, *exc: object) -> None:
        set_rng_state(self._state, generators=self._generators)
        _set_device_state(self._device)
