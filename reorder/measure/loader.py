"""`profile_loader`: is the DataLoader the bottleneck of training, with and without a plan?

It iterates the loader as a training loop does (epoch after epoch), timing how long each
`next(batch)` takes and, when a training step is given, how long the step takes. Where
the step waits for data for more than a tenth of the loop, the loader is the bottleneck:
a faster pipeline shortens training. Without a step it reports how fast batches arrive,
which a step must not outpace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Waiting for data longer than this share of the loop makes the loader the bottleneck.
BOTTLENECK_SHARE = 0.1


@dataclass(frozen=True)
class LoaderProfile:
    name: str
    batches: int
    images: int
    seconds: float  # the whole measured loop: waiting for batches and running steps
    wait_s: float  # time spent in next(batch)
    step_s: float | None  # time spent in the step; None without one

    @property
    def batches_per_s(self) -> float:
        return self.batches / self.seconds if self.seconds else 0.0

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0

    @property
    def waiting_share(self) -> float | None:
        """Share of the loop the step spent waiting for data (None without a step)."""
        if self.step_s is None or not self.seconds:
            return None
        return self.wait_s / self.seconds

    @property
    def bottleneck(self) -> bool | None:
        share = self.waiting_share
        return None if share is None else share > BOTTLENECK_SHARE


@dataclass(frozen=True)
class LoaderReport:
    profiles: tuple[LoaderProfile, ...]

    def __getitem__(self, name: str) -> LoaderProfile:
        return next(p for p in self.profiles if p.name == name)

    def __str__(self) -> str:
        lines = [f"{'loader':<12}{'batches/s':>10}{'images/s':>10}{'waiting':>9}  verdict"]
        for p in self.profiles:
            share = p.waiting_share
            waiting = "-" if share is None else f"{100 * share:.0f}%"
            if p.bottleneck is None:
                verdict = "no step given: a step slower than 1/rate per batch hides the loader"
            elif p.bottleneck:
                verdict = "the loader is the bottleneck: the model waits for data"
            else:
                verdict = "the loader keeps up with the step"
            rates = f"{p.batches_per_s:>10.2f}{p.images_per_s:>10.1f}"
            lines.append(f"{p.name:<12}{rates}{waiting:>9}  {verdict}")
        if len(self.profiles) == 2 and self.profiles[0].batches_per_s:
            first, second = self.profiles
            ratio = second.batches_per_s / first.batches_per_s
            lines.append(f"{second.name} delivers {ratio:.2f}x the batches/s of {first.name}")
        return "\n".join(lines)


def batch_size_of(batch: Any) -> int:
    if hasattr(batch, "shape") and len(batch.shape) > 0:
        return int(batch.shape[0])
    if isinstance(batch, Mapping) and batch:
        return batch_size_of(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return batch_size_of(batch[0])
    return 1


class Epochs:
    """Batches from `loader`, epoch after epoch (a new iterator when one runs out), as a
    training loop sees them; None if the loader yields nothing at all."""

    def __init__(self, loader: Iterable[Any]) -> None:
        self.loader = loader
        self.iterator = iter(loader)

    def next(self) -> Any:
        batch = next(self.iterator, None)
        if batch is None:
            self.iterator = iter(self.loader)
            batch = next(self.iterator, None)
        return batch


def _profile(
    name: str, loader: Iterable[Any], step: Callable[[Any], Any] | None, batches: int, warmup: int
) -> LoaderProfile:
    epochs = Epochs(loader)
    for _ in range(warmup):  # worker start-up and first-batch costs are not the steady rate
        epochs.next()
    count = images = 0
    wait_s = step_s = 0.0
    started = time.perf_counter()
    while count < batches:
        asked = time.perf_counter()
        batch = epochs.next()
        got = time.perf_counter()
        if batch is None:
            break
        wait_s += got - asked
        if step is not None:
            step(batch)
            step_s += time.perf_counter() - got
        count += 1
        images += batch_size_of(batch)
    seconds = time.perf_counter() - started
    return LoaderProfile(name, count, images, seconds, wait_s, step_s if step else None)


def profile_loader(
    loader: Iterable[Any] | Mapping[str, Iterable[Any]],
    step: Callable[[Any], Any] | None = None,
    batches: int = 50,
    warmup: int = 2,
) -> LoaderReport:
    """Batches (and images) per second a DataLoader delivers and, given a training `step`
    (called with each batch), the share of the loop spent waiting for data and whether
    the loader is the bottleneck. Pass {"original": loader_a, "plan": loader_b} to compare
    the two; `print` the result for a table."""
    loaders = dict(loader) if isinstance(loader, Mapping) else {"loader": loader}
    return LoaderReport(
        tuple(_profile(name, dl, step, batches, warmup) for name, dl in loaders.items())
    )
