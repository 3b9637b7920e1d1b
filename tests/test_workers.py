"""A plan in a training loop: pickled, in DataLoader workers, shared by threads.

`ImageFolder(root, loader=plan.loader, transform=plan.transform)` through a `DataLoader`
gives the same batches as `ImageFolder(root, transform=original)` under the same seeding
(same order, same labels, same random crops, values within the plan's tolerance), with
`num_workers=0` (draws from the main process's RNG) and with worker processes (draws from
each worker's seed), forked or spawned (which pickles the dataset, and the plan with it).
"""

from __future__ import annotations

import math
import pickle
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision import transforms as T

import reorder
from conftest import MEAN, STD, write_image
from reorder.frontends import parse
from reorder.measure.verify import TOLERANCES, output_units
from reorder.plan import Plan, Report
from reorder.rng import seed_all
from reorder.samples import make_scene
from reorder.search import enumerate_plans

BATCH = 4


def train_pipeline() -> T.Compose:
    return T.Compose(
        [T.RandomResizedCrop(40), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)]
    )


def eval_pipeline() -> T.Compose:
    return T.Compose([T.Resize(48), T.CenterCrop(40), T.ToTensor(), T.Normalize(MEAN, STD)])


def seed_worker(worker_id: int) -> None:
    """The usual recipe (PyTorch's reproducibility notes): the other streams from torch's."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """An ImageFolder: 2 classes x 4 JPEGs of different sizes and orientations."""
    root = tmp_path_factory.mktemp("folder")
    sizes = [
        (160, 120),
        (120, 160),
        (200, 150),
        (97, 131),
        (150, 150),
        (180, 100),
        (90, 120),
        (130, 170),
    ]
    for i, (w, h) in enumerate(sizes):
        (root / f"class_{i % 2}").mkdir(exist_ok=True)
        write_image(root / f"class_{i % 2}", w, h, "jpg", seed=i, name=f"image_{i}")
    return root


@pytest.fixture(scope="module")
def paths(root) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.jpg"))


def _fixed(transform) -> Plan:
    """The most rewritten candidate: reduced-size decode, fused kernels, options."""
    pipeline = parse(transform)
    physical = max(enumerate_plans(pipeline), key=lambda p: len(p.rules))
    return Plan(pipeline, physical, Report("close", None, 0, 0, (), None, "fixed for a test", 0.0))


@pytest.fixture(scope="module")
def train_plan(paths) -> Plan:
    return reorder.optimize(
        train_pipeline(), paths, tolerance="close", seeds=1, repeats=1, progress=False
    )


@pytest.fixture(scope="module")
def eval_plans(paths) -> dict[str, Plan]:
    chosen = reorder.optimize(
        eval_pipeline(), paths, tolerance="close", seeds=1, repeats=1, progress=False
    )
    return {"optimized": chosen, "all-rules": _fixed(eval_pipeline())}


def psnr_per_sample(expected: torch.Tensor, got: torch.Tensor, plan: Plan) -> list[float]:
    """PSNR of each sample in a batch, in 0..255 units of the image before Normalize."""
    units = torch.tensor(output_units(plan.pipeline), dtype=torch.float64).view(1, -1, 1, 1)
    diff = (expected.double() - got.double()) * units
    out = []
    for sample in diff:
        mse = float((sample**2).mean())
        out.append(math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse))
    return out


def assert_same_batches(expected: list, got: list, plan: Plan, tolerance: str = "close") -> None:
    assert len(expected) == len(got) == 8 // BATCH
    min_psnr, _ = TOLERANCES[tolerance]
    for (x, y), (x2, y2) in zip(expected, got, strict=True):
        assert torch.equal(y, y2), "labels (and so the shuffled order) differ"
        assert x.shape == x2.shape and x.dtype == x2.dtype
        worst = min(psnr_per_sample(x, x2, plan))
        assert worst >= min_psnr, f"worst sample {worst:.1f} dB < {min_psnr} dB"


def batches(dataset, num_workers: int, context: str | None = None, seed: int = 7) -> list:
    torch.manual_seed(1000 + seed)  # the main process's stream (num_workers=0 draws from it)
    loader = DataLoader(
        dataset,
        batch_size=BATCH,
        shuffle=True,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=seed_worker,
        multiprocessing_context=context if num_workers else None,
    )
    out = list(loader)
    out.append(torch.get_rng_state())
    return out


# -- pickling --------------------------------------------------------------------------


def _outputs(fn: Callable[[Any], Any], args: list[Any]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = []
    for arg in args:
        for seed in (0, 1):
            seed_all(seed)
            out.append((fn(arg), torch.get_rng_state()))
    return out


@pytest.mark.parametrize("which", ["train-optimized", "eval-optimized", "eval-all-rules"])
def test_a_plan_pickles(train_plan, eval_plans, paths, which):
    plan = {"train-optimized": train_plan, **{f"eval-{k}": v for k, v in eval_plans.items()}}[which]
    copy = pickle.loads(pickle.dumps(plan))
    assert isinstance(copy, Plan)
    assert copy.physical == plan.physical
    for a, b in zip(_outputs(plan, paths), _outputs(copy, paths), strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    # the pieces a Dataset holds pickle on their own, too
    transform = pickle.loads(pickle.dumps(plan.transform))
    loader = pickle.loads(pickle.dumps(plan.loader))
    for a, b in zip(
        _outputs(plan, paths[:2]), _outputs(lambda p: transform(loader(p)), paths[:2]), strict=True
    ):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    lazy = pickle.loads(pickle.dumps(plan.loader(paths[0])))
    assert isinstance(lazy, reorder.LazyImage) and lazy.path == paths[0]


def test_a_pickled_plan_is_small(train_plan):
    """Workers receive a copy per epoch: no images, caches or timing data inside."""
    assert len(pickle.dumps(train_plan)) < 200_000


# -- DataLoader ------------------------------------------------------------------------


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_gives_the_original_batches(root, train_plan, num_workers):
    original = datasets.ImageFolder(root, transform=train_pipeline())
    planned = datasets.ImageFolder(root, loader=train_plan.loader, transform=train_plan.transform)
    assert planned.samples == original.samples
    for seed in (7, 8):
        expected = batches(original, num_workers, seed=seed)
        got = batches(planned, num_workers, seed=seed)
        assert_same_batches(expected[:-1], got[:-1], train_plan)
        assert torch.equal(expected[-1], got[-1]), "the main process's RNG state differs"


def test_dataloader_with_spawned_workers(root, train_plan):
    """Spawned (and forkserver) workers receive the dataset pickled: the plan travels too.
    (The default on macOS and Windows, and on Linux from Python 3.14.)"""
    original = datasets.ImageFolder(root, transform=train_pipeline())
    planned = datasets.ImageFolder(root, loader=train_plan.loader, transform=train_plan.transform)
    expected = batches(original, 2, context="spawn")
    got = batches(planned, 2, context="spawn")
    assert_same_batches(expected[:-1], got[:-1], train_plan)


def test_dataloader_with_persistent_workers_over_epochs(root, train_plan):
    """Persistent workers keep their RNG between epochs (no new worker_init_fn): the
    second epoch's draws continue each worker's stream, with the plan as without it."""

    def two_epochs(dataset) -> list:
        torch.manual_seed(1007)
        loader = DataLoader(
            dataset,
            batch_size=BATCH,
            shuffle=True,
            num_workers=2,
            persistent_workers=True,
            generator=torch.Generator().manual_seed(7),
            worker_init_fn=seed_worker,
        )
        return list(loader) + list(loader)

    original = datasets.ImageFolder(root, transform=train_pipeline())
    planned = datasets.ImageFolder(root, loader=train_plan.loader, transform=train_plan.transform)
    expected, got = two_epochs(original), two_epochs(planned)
    assert_same_batches(expected[:2], got[:2], train_plan)
    assert_same_batches(expected[2:], got[2:], train_plan)
    assert not torch.equal(expected[0][0], expected[2][0]), "epochs should differ"


def test_dataloader_with_the_fixed_candidate(root, eval_plans):
    """The most rewritten eval plan (DCT-scale decode, OpenCV, fused normalize) in workers."""
    plan = eval_plans["all-rules"]
    original = datasets.ImageFolder(root, transform=eval_pipeline())
    planned = datasets.ImageFolder(root, loader=plan.loader, transform=plan.transform)
    expected = batches(original, 2)
    got = batches(planned, 2)
    assert_same_batches(expected[:-1], got[:-1], plan)


def test_worker_seeding_matters(root, train_plan):
    """Guards the comparison above: another generator seed gives other batches."""
    planned = datasets.ImageFolder(root, loader=train_plan.loader, transform=train_plan.transform)
    a = batches(planned, 0, seed=7)
    b = batches(planned, 0, seed=9)
    assert any(not torch.equal(x[0], y[0]) for x, y in zip(a[:-1], b[:-1], strict=True))


# -- threads ---------------------------------------------------------------------------


def _pil_images() -> list:
    from PIL import Image

    sizes = [
        (160, 120),
        (120, 160),
        (301, 203),
        (64, 48),
        (48, 64),
        (200, 200),
        (97, 61),
        (257, 129),
    ]
    return [Image.fromarray(make_scene(w, h, seed=i)) for i, (w, h) in enumerate(sizes)]


@pytest.mark.parametrize("which", ["optimized", "all-rules"])
def test_a_plan_shared_by_two_threads(eval_plans, paths, which):
    """An eval plan (no randomness) called from two threads at once gives, for every call,
    exactly what sequential calls give: no shared scratch buffers, caches or state."""
    plan = eval_plans[which]
    images = _pil_images()
    sequential_pil = [plan.transform(img) for img in images]
    sequential_path = [plan(p) for p in paths]
    for img, out in zip(images, sequential_pil, strict=True):
        assert torch.allclose(out, eval_pipeline()(img), atol=1.0)  # sanity: it is the eval output

    rounds = 12
    start = threading.Barrier(2)

    def work(kind: str) -> list[tuple[int, torch.Tensor]]:
        start.wait()
        results = []
        for r in range(rounds):
            if kind == "pil":
                for i, img in enumerate(images):
                    results.append((i, plan.transform(img)))
            else:
                for i, p in enumerate(paths):
                    results.append((i, plan(p) if r % 2 else plan.transform(plan.loader(p))))
        return results

    for kinds in (("pil", "pil"), ("path", "path"), ("pil", "path")):
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(work, kind) for kind in kinds]
            results = [f.result() for f in futures]
        for kind, result in zip(kinds, results, strict=True):
            reference = sequential_pil if kind == "pil" else sequential_path
            assert len(result) == rounds * len(reference)
            for i, out in result:
                assert torch.equal(out, reference[i]), (kind, i)
