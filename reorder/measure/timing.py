"""Wall-clock timing: one thread, warm-up, interleaved repeats, medians per sample."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

import cv2
import torch

from reorder.rng import preserved_rng, seed_all


@contextmanager
def one_thread():
    """Time what one DataLoader worker sees: torch and OpenCV on a single thread."""
    torch_threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv_threads)


def time_interleaved(
    calls: dict[str, Callable[[Any], Any]],
    arguments: dict[str, Sequence[Any]],
    repeats: int,
    deadline: float | None = None,
    generators: Sequence[Any] = (),
) -> dict[str, list[float]]:
    """Median seconds per sample for each call, repeats interleaved so drift hits all alike.

    `arguments[name]` holds that call's inputs, one per sample, in the same sample order.
    Stops early (after at least one timed round) at `deadline` (a perf_counter value).
    `generators`: RNG objects the pipeline's transforms own, seeded with the global streams.
    """
    names = list(calls)
    times: dict[str, list[list[float]]] = {n: [[] for _ in arguments[n]] for n in names}
    with one_thread(), preserved_rng(generators):
        for name in names:  # warm-up: caches, lazy imports, tables
            for argument in arguments[name]:
                seed_all(0, generators)
                _run(calls[name], argument)
        for round_index in range(repeats):
            order = names[round_index % len(names) :] + names[: round_index % len(names)]
            for name in order:
                for sample, argument in enumerate(arguments[name]):
                    seed_all(round_index * 7919 + sample, generators)
                    start = time.perf_counter()
                    _run(calls[name], argument)
                    times[name][sample].append(time.perf_counter() - start)
            if deadline is not None and time.perf_counter() > deadline:
                break
    return {n: [statistics.median(t) for t in per_sample] for n, per_sample in times.items()}


def _run(call: Callable[[Any], Any], argument: Any) -> None:
    """One timed call. A draw the verification seeds never made may raise (a random
    choice of a crop larger than the image): the original and every verified plan raise
    alike there, so the error path is timed like any other."""
    try:
        call(argument)
    except Exception:
        return
