"""What a user looks at: the text and HTML report, the plots (rendered to PNG), the
sample grid, and `profile_loader`'s verdict on whether the DataLoader is the bottleneck."""

from __future__ import annotations

import html
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

import reorder
from conftest import MEAN, STD, write_image

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def _pipeline():
    return T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)])


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    return [write_image(folder, 320 + 40 * i, 240, "jpg", seed=i) for i in range(3)]


@pytest.fixture(scope="module", params=["close", "exact"])
def plan(request, photos):
    return reorder.optimize(
        _pipeline(), photos[:2], tolerance=request.param, seeds=1, repeats=1, progress=False
    )


def test_the_text_report_lists_every_candidate(plan):
    text = str(plan)
    assert text.count("accepted:") + text.count("rejected:") == len(plan.report.candidates)
    assert f"chosen : {plan.describe()}" in text and "samples: 2 files (2 .jpg)" in text


def test_in_jupyter_a_plan_shows_an_html_table(plan):
    page = plan._repr_html_()
    assert page.count("<tr") == len(plan.report.candidates) + 1  # and the header
    assert "->" not in page and "-&gt;" in page  # descriptions are escaped
    summary = str(plan).split("\n\n")[0]
    for line in summary.splitlines():  # every line print(plan) shows above its table
        assert html.escape(line) in page, line
    if plan.report.chosen is not None:
        assert page.count('style="font-weight:bold"') == 1


def test_plot_draws_one_bar_per_timed_candidate(plan, tmp_path):
    figure = plan.plot()
    timed = [c for c in plan.report.candidates if c.ms is not None]
    assert len(figure.axes[0].patches) == len(timed)
    figure.savefig(tmp_path / "candidates.png")
    with Image.open(tmp_path / "candidates.png") as png:
        assert png.width > 100 and png.height > 100


def test_show_samples_renders_original_plan_and_difference(plan, photos, tmp_path):
    state = torch.get_rng_state()
    figure = plan.show_samples([photos[2]], seeds=(0, 1))
    assert torch.equal(torch.get_rng_state(), state), "the caller's RNG was disturbed"
    assert len(figure.axes) == 2 * 3
    figure.savefig(tmp_path / "samples.png")
    with Image.open(tmp_path / "samples.png") as png:
        assert png.width > 100
    difference = np.asarray(figure.axes[2].images[0].get_array())
    if plan.report.tolerance == "exact" and plan.physical is not None:
        assert difference.max() <= 2 * 10 / 255  # exact: within 2 units, amplified 10x
    original, planned = (np.asarray(figure.axes[i].images[0].get_array()) for i in (0, 1))
    assert original.shape == planned.shape == (56, 56, 3)


def test_show_samples_of_a_loaded_plan_needs_paths(plan, photos, tmp_path):
    plan.save(tmp_path / "plan.json")
    loaded = reorder.load(tmp_path / "plan.json", _pipeline())
    with pytest.raises(ValueError, match="paths="):
        loaded.show_samples()
    assert len(loaded.show_samples([photos[0]], seeds=(3,)).axes) == 3


# -- profile_loader ---------------------------------------------------------------------


class _Slow(Dataset):
    """Items that take `seconds` each to make."""

    def __init__(self, seconds: float, items: int = 24) -> None:
        self.seconds, self.items = seconds, items

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, i: int) -> torch.Tensor:
        time.sleep(self.seconds)
        return torch.zeros(3, 4, 4)


def test_a_loader_slower_than_the_step_is_the_bottleneck():
    loader = DataLoader(_Slow(0.01), batch_size=2)  # ~20 ms a batch
    report = reorder.profile_loader(loader, step=lambda b: time.sleep(0.001), batches=6)
    profile = report["loader"]
    assert profile.batches == 6 and profile.images == 12
    assert profile.bottleneck is True and profile.waiting_share > 0.5
    assert "the loader is the bottleneck" in str(report)


def test_a_step_slower_than_the_loader_hides_it():
    loader = DataLoader(_Slow(0.0005), batch_size=2)
    report = reorder.profile_loader(loader, step=lambda b: time.sleep(0.03), batches=5)
    assert report["loader"].bottleneck is False
    assert "keeps up" in str(report)


def test_original_and_plan_side_by_side():
    loaders = {
        "original": DataLoader(_Slow(0.01), batch_size=2),
        "plan": DataLoader(_Slow(0.002), batch_size=2),
    }
    report = reorder.profile_loader(loaders, batches=5)
    assert report["original"].bottleneck is None  # no step: no verdict, only rates
    assert report["plan"].batches_per_s > 2 * report["original"].batches_per_s
    assert "plan delivers" in str(report) and "x the batches/s of original" in str(report)
