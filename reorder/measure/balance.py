"""How many DataLoader workers keep the model fed: what each worker count delivers, against
what the training step consumes.

Delivery: for each `num_workers` (0, 1, ... up to the machine's cores), a fresh DataLoader
over the dataset, timed over `batches` batches after `warmup` ones (worker start-up is not
the steady rate), `repeats` times: images per second, each repeat kept for the spread.
Demand: the training step's images per second, timed in the main process on a real batch
(a step on a GPU must synchronize before it returns, e.g. `loss.item()`), or a rate the
user states.

With prefetching, a training loop runs at the slower of the two rates, and the model waits
for the share `1 - delivery / demand` of the time. A worker count keeps the model fed when
even its slowest repeat delivers the demand: the threshold is the measurement's own spread
on this machine, not a fixed share, so a count whose repeats straddle the demand is
reported as uncertain rather than fed or starved. The recommendation is the fewest workers
that keep the model fed; where none does (or no demand is known), the fewest whose
delivery cannot be told apart from the best count's (their ranges overlap).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch.utils.data import DataLoader, Dataset

from reorder.measure.loader import Epochs, batch_size_of
from reorder.ops.decode import LOADERS
from reorder.runtime.sources import LazyImage
from reorder.views import view


@dataclass(frozen=True)
class Rate:
    """Images per second, one value per repeat."""

    images_per_s: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.images_per_s)

    @property
    def low(self) -> float:
        return min(self.images_per_s)

    @property
    def high(self) -> float:
        return max(self.images_per_s)

    def overlaps(self, other: Rate) -> bool:
        return self.low <= other.high and other.low <= self.high


@dataclass(frozen=True)
class Delivery:
    workers: int
    rate: Rate


@dataclass(frozen=True)
class Balance:
    """One dataset's deliveries per worker count, the demand, and the recommendation."""

    name: str
    batch_size: int
    deliveries: tuple[Delivery, ...]
    demand: Rate | None  # None: no step and no stated rate
    demand_source: str  # "the step, timed" or "stated"

    def delivery(self, workers: int) -> Delivery:
        return next(d for d in self.deliveries if d.workers == workers)

    def fed(self, delivery: Delivery) -> bool | None:
        """True when even the slowest repeat meets the demand, False when even the fastest
        falls short, None when the repeats straddle it (or no demand is known)."""
        if self.demand is None:
            return None
        if delivery.rate.low >= self.demand.high:
            return True
        if delivery.rate.high < self.demand.low:
            return False
        return None

    def waiting_share(self, delivery: Delivery) -> float | None:
        """Expected share of the loop the model waits for data, at the mean rates."""
        if self.demand is None:
            return None
        return max(0.0, 1.0 - delivery.rate.mean / self.demand.mean)

    @property
    def recommended(self) -> Delivery:
        return recommend(self.deliveries, self.demand)

    @property
    def expected_images_per_s(self) -> float:
        """What training would run at with the recommended count."""
        rate = self.recommended.rate.mean
        return rate if self.demand is None else min(rate, self.demand.mean)


def recommend(deliveries: Sequence[Delivery], demand: Rate | None) -> Delivery:
    """The fewest workers whose slowest repeat meets the demand's fastest; else the fewest
    whose delivery overlaps the best count's."""
    if demand is not None:
        fed = [d for d in deliveries if d.rate.low >= demand.high]
        if fed:
            return min(fed, key=lambda d: d.workers)
    best = max(deliveries, key=lambda d: d.rate.mean)
    return min((d for d in deliveries if d.rate.overlaps(best.rate)), key=lambda d: d.workers)


@dataclass(frozen=True)
class BalanceReport:
    """What `reorder.balance` and `plan.balance()` return: `print` it for the table and
    the recommendation, `.plot()` for the picture."""

    balances: tuple[Balance, ...]
    batches: int
    repeats: int

    def __getitem__(self, name: str) -> Balance:
        return next(b for b in self.balances if b.name == name)

    def __str__(self) -> str:
        return view(self, "text")(self)

    def plot(self) -> Any:
        """A matplotlib figure: per worker count, the loader's and the model's time per
        batch, the model's wait shaded."""
        return view(self, "plot")(self)


class FileImages(Dataset):
    """`length` items cycling over `paths`, each read and transformed as in training: by
    the reference `loader` then `transform`, or (loader None) as a lazy image the plan's
    transform reads itself. `keyword`: albumentations' call convention."""

    def __init__(
        self,
        paths: Sequence[str],
        transform: Any,
        loader: str | None,
        keyword: str | None,
        length: int,
    ) -> None:
        self.paths, self.transform, self.loader = list(paths), transform, loader
        self.keyword, self.length = keyword, max(length, len(self.paths))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        path = self.paths[index % len(self.paths)]
        image = LazyImage(path) if self.loader is None else LOADERS[self.loader](path)
        if self.keyword is None:
            return self.transform(image)
        return self.transform(**{self.keyword: image})[self.keyword]


def default_workers() -> tuple[int, ...]:
    """0 (loading in the training process), then 1 up to the cores this process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return tuple(range(0, (cores or 1) + 1))


def _delivered(
    dataset: Dataset, batch_size: int, workers: int, batches: int, warmup: int, **loader: Any
) -> float:
    epochs = Epochs(DataLoader(dataset, batch_size=batch_size, num_workers=workers, **loader))
    for _ in range(warmup):
        epochs.next()
    images = 0
    started = time.perf_counter()
    for _ in range(batches):
        batch = epochs.next()
        if batch is None:
            break
        images += batch_size_of(batch)
    seconds = time.perf_counter() - started
    if not images:
        raise ValueError(
            "the DataLoader yields no batches (an empty dataset, or drop_last with a "
            "batch_size larger than the dataset)"
        )
    return images / seconds


def _step_rate(
    dataset: Dataset, batch_size: int, step: Callable[[Any], Any], repeats: int, **loader: Any
) -> Rate:
    batch = next(iter(DataLoader(dataset, batch_size=batch_size, **loader)))
    step(batch)  # warm-up: lazy initialisation, first-call compilation
    rates = []
    for _ in range(max(3, repeats)):
        started = time.perf_counter()
        step(batch)
        rates.append(batch_size_of(batch) / max(time.perf_counter() - started, 1e-9))
    return Rate(tuple(rates))


def balance(
    datasets: Dataset | Mapping[str, Dataset],
    batch_size: int = 32,
    step: Callable[[Any], Any] | None = None,
    images_per_s: float | None = None,
    workers: Sequence[int] | None = None,
    batches: int = 10,
    warmup: int = 2,
    repeats: int = 3,
    **loader: Any,
) -> BalanceReport:
    """Images/s a DataLoader over each dataset delivers with each worker count (default 0
    up to the cores), against the demand of a training `step` (called with a batch) or a
    stated `images_per_s`, and the worker count to use. Pass {"original": ds_a, "plan":
    ds_b} to compare; other DataLoader arguments (collate_fn, pin_memory...) pass through."""
    if step is not None and images_per_s is not None:
        raise ValueError("give a training step or images_per_s, not both")
    if images_per_s is not None and not images_per_s > 0:
        raise ValueError(f"images_per_s must be a positive number, not {images_per_s!r}")
    if batch_size < 1 or batches < 1 or repeats < 1 or warmup < 0:
        raise ValueError("batch_size, batches and repeats must be at least 1, warmup at least 0")
    counts = tuple(workers) if workers is not None else default_workers()
    if not counts or any(not isinstance(n, int) or n < 0 for n in counts):
        raise ValueError(f"workers must be counts of 0 or more, not {counts!r}")
    named = dict(datasets) if isinstance(datasets, Mapping) else {"loader": datasets}
    balances = []
    for name, dataset in named.items():
        rates: dict[int, list[float]] = {n: [] for n in counts}
        for _ in range(repeats):  # repeats outermost: drift hits every count alike
            for n in counts:
                rates[n].append(_delivered(dataset, batch_size, n, batches, warmup, **loader))
        if step is not None:
            demand, source = _step_rate(dataset, batch_size, step, repeats, **loader), "step"
        elif images_per_s is not None:
            demand, source = Rate((float(images_per_s),)), "stated"
        else:
            demand, source = None, "none"
        deliveries = tuple(Delivery(n, Rate(tuple(rates[n]))) for n in counts)
        balances.append(Balance(name, batch_size, deliveries, demand, source))
    return BalanceReport(tuple(balances), batches, repeats)
