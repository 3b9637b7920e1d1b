"""How many workers keep the model fed (`reorder.balance`, `plan.balance()`): the
recommendation from measured rates and their spread, the verdicts, the picture."""

from __future__ import annotations

import time

import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision import transforms as T

import reorder
from conftest import MEAN, STD, write_image
from reorder.measure.balance import Delivery, Rate, recommend

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def _deliveries(*rates: tuple[float, ...]) -> list[Delivery]:
    return [Delivery(n, Rate(r)) for n, r in enumerate(rates)]


def test_the_fewest_workers_whose_slowest_repeat_meets_the_demand():
    deliveries = _deliveries((300, 320), (560, 600), (900, 980), (910, 1000))
    assert recommend(deliveries, Rate((500, 540))).workers == 1
    assert recommend(deliveries, Rate((580,))).workers == 2  # 1 worker's 560 may not do


def test_where_no_count_keeps_up_the_fewest_as_fast_as_the_best():
    deliveries = _deliveries((300, 320), (560, 600), (900, 980), (950, 1000))
    assert recommend(deliveries, Rate((2000,))).workers == 2  # 2 and 3 overlap
    assert recommend(deliveries, None).workers == 2


def test_a_count_whose_repeats_straddle_the_demand_is_neither_fed_nor_starved():
    report_rates = _deliveries((90, 130))
    balance = reorder.measure.balance.Balance("x", 4, tuple(report_rates), Rate((100,)), "stated")
    assert balance.fed(report_rates[0]) is None
    assert balance.waiting_share(report_rates[0]) == pytest.approx(0.0)


class _Slow(Dataset):
    """Each item takes `seconds` (sleeping, so workers overlap even on few cores)."""

    def __init__(self, seconds: float, items: int = 400) -> None:
        self.seconds, self.items = seconds, items

    def __len__(self) -> int:
        return self.items

    def __getitem__(self, i: int) -> torch.Tensor:
        time.sleep(self.seconds)
        return torch.zeros(3, 4, 4)


def test_a_demand_one_process_cannot_meet_asks_for_workers():
    # One process delivers about 50 images/s; two workers about 100.
    report = reorder.balance(
        _Slow(0.02), batch_size=4, images_per_s=70, workers=(0, 2), batches=4, repeats=2
    )
    balance = report["loader"]
    assert balance.fed(balance.delivery(0)) is False
    assert balance.recommended.workers == 2
    assert balance.waiting_share(balance.delivery(0)) > 0.2  # about 1 - 50/70
    text = str(report)
    assert "num_workers=2" in text and "demand: 70 images/s (stated)" in text


def test_a_step_is_timed_as_the_demand(tmp_path):
    report = reorder.balance(
        _Slow(0.001),
        batch_size=4,
        step=lambda batch: time.sleep(0.2),
        workers=(0,),
        batches=3,
        repeats=1,
    )
    balance = report["loader"]
    assert balance.demand_source == "step" and 10 < balance.demand.mean < 25  # 4 per 0.2 s
    assert balance.fed(balance.delivery(0)) is True
    assert "keeps the model fed" in str(report)
    figure = report.plot()
    figure.savefig(tmp_path / "balance.png")
    with Image.open(tmp_path / "balance.png") as png:
        assert png.width > 100


def test_plan_balance_compares_the_original_and_the_plan(tmp_path):
    paths = [write_image(tmp_path, 160, 120, "jpg", seed=i) for i in range(2)]
    pipeline = T.Compose([T.Resize(48), T.CenterCrop(40), T.ToTensor(), T.Normalize(MEAN, STD)])
    plan = reorder.optimize(pipeline, paths, seeds=1, repeats=1, max_timed=2, progress=False)
    report = plan.balance(batch_size=4, workers=(0, 1), batches=2, repeats=1)
    assert [b.name for b in report.balances] == ["original", "plan"]
    assert all(d.rate.mean > 0 for b in report.balances for d in b.deliveries)
    assert str(report).count("num_workers=") == 2


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="not both"):
        reorder.balance(_Slow(0), step=print, images_per_s=10)
    with pytest.raises(ValueError, match="images_per_s must be a positive number"):
        reorder.balance(_Slow(0), images_per_s=0)
    with pytest.raises(ValueError, match="workers must be counts"):
        reorder.balance(_Slow(0), workers=(-1,))
