"""Where the time goes (`reorder.profile`, `plan.profile()`): each step of the original
and of the plan, whose times add up to the whole call, in text, HTML and a chart."""

from __future__ import annotations

import albumentations as A
import pytest
from PIL import Image
from torchvision import transforms as T

import reorder
from conftest import MEAN, STD, write_image

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

# The steps and the whole are timed in the same rounds; the sum may miss the whole by the
# clocks' own cost and the call's bookkeeping outside the steps, not by more than this.
ADDS_UP_WITHIN = 0.10


def _train():
    return T.Compose(
        [T.RandomResizedCrop(96), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)]
    )


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("profile")
    return [write_image(folder, 320, 240, "jpg", seed=1), write_image(folder, 180, 260, "jpg")]


@pytest.fixture(scope="module")
def plan(photos):
    return reorder.optimize(_train(), photos, seeds=1, repeats=1, max_timed=2, progress=False)


@pytest.fixture(scope="module")
def profile(plan):
    return plan.profile(repeats=9)


def test_the_steps_add_up_to_the_whole_call(profile):
    for pipeline in profile.pipelines:
        assert abs(pipeline.accounted - 1) <= ADDS_UP_WITHIN, (pipeline.name, pipeline.accounted)


def test_the_original_is_read_decoded_then_each_op_as_written(profile):
    steps = [step.name for step in profile["original"].steps]
    assert steps == [
        "read + decode (the reference loader)",
        "RandomResizedCrop",
        "RandomHorizontalFlip",
        "ToTensor",
        "Normalize",
    ]


def test_the_plan_shows_its_draws_decode_and_each_stage(plan, profile):
    steps = [step.name for step in profile["plan"].steps]
    names = [op.name for op in plan.pipeline.ops]
    stages = [s.describe(names) for seg in plan.physical.segments for s in seg.stages if s.ops]
    assert "draw (your transforms' random parameters)" in steps and "decode" in steps
    assert set(stages) <= set(steps), (stages, steps)
    assert all(len(step.ms) == 2 and min(step.ms) >= 0 for step in profile["plan"].steps)


def test_the_table_html_and_chart_show_every_step(profile, tmp_path):
    text, page = str(profile), profile._repr_html_()
    steps = [step for p in profile.pipelines for step in p.steps]
    for step in steps:
        assert step.name in text and step.name.replace("'", "&#x27;") in page
    assert "2 images x 9 repeats" in text and "adds up" not in text
    figure = profile.plot()
    assert len(figure.axes[0].patches) == len(steps)
    figure.savefig(tmp_path / "steps.png")
    with Image.open(tmp_path / "steps.png") as png:
        assert png.width > 100 and png.height > 100


def test_profile_of_a_pipeline_alone_times_the_original(photos):
    profile = reorder.profile(_train(), photos[:1], repeats=3)
    assert [p.name for p in profile.pipelines] == ["original"]
    assert profile["original"]["read + decode (the reference loader)"].mean_ms > 0


def test_albumentations_is_profiled_op_by_op(photos):
    pipeline = A.Compose([A.RandomResizedCrop((64, 64)), A.HorizontalFlip(), A.Normalize()])
    profile = reorder.profile(pipeline, photos, repeats=3)
    names = [step.name for step in profile["original"].steps]
    assert names[0] == "read + decode (the reference loader)" and "RandomResizedCrop" in names


def test_bad_arguments_say_what_is_wrong(plan, photos, tmp_path):
    with pytest.raises(ValueError, match="repeats must be at least 1"):
        plan.profile(repeats=0)
    with pytest.raises(FileNotFoundError, match="no such file"):
        reorder.profile(_train(), [str(tmp_path / "missing.jpg")])
