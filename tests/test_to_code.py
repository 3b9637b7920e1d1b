"""`plan.to_code()` writes out what the plan runs; executed, it gives the plan's outputs and
RNG state, bit for bit, for every frontend, with barriers, and for the original plan."""

from __future__ import annotations

import pytest
import torch
from torchvision import transforms as T
from torchvision.transforms import v2

import reorder
from conftest import MEAN, STD, write_image
from reorder.frontends import parse
from reorder.ir import Envelope
from reorder.measure.verify import compare, output_units, run_coupled
from reorder.plan import Plan, Report
from reorder.runtime import Executor, LazyImage
from reorder.search import enumerate_plans

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding:DeprecationWarning")


def _albumentations():
    A = pytest.importorskip("albumentations")
    from albumentations.pytorch import ToTensorV2

    return A.Compose([A.RandomCrop(60, 80), A.HorizontalFlip(), A.Normalize(), ToTensorV2()])


CASES = {
    "v1 eval": (lambda: T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor()]), "pil"),
    "v1 train, barrier": (
        lambda: T.Compose(
            [
                T.RandomResizedCrop(48),
                T.Lambda(lambda img: img),
                T.RandomRotation(10),
                T.ToTensor(),
                T.Normalize(MEAN, STD),
            ]
        ),
        "pil",
    ),
    "v2 on tensors": (
        lambda: v2.Compose(
            [v2.Resize(64), v2.RandomCrop(56), v2.ToDtype(torch.float32, scale=True)]
        ),
        "torchvision.io",
    ),
    "albumentations": (_albumentations, "cv2"),
}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("to_code")
    return [
        write_image(folder, 320, 240, "jpg", seed=1),
        write_image(folder, 150, 200, "png", seed=2),  # the reference loader's path
    ]


def _plans(make, loader, photos):
    """The most rewritten candidate, unguarded and with an envelope verified on the first
    photo alone (the second, of another size, takes the exact path); and the original."""
    pipeline = parse(make(), loader)
    most = max(enumerate_plans(pipeline), key=lambda p: len(p.rules))
    report = Report("close", None, 0, 0, (), None, "fixed for a test", 0.0)
    envelope = Envelope()
    recorder = Executor(pipeline, most, record_into=envelope)
    for seed in (0, 1, 2):
        run_coupled(lambda p: pipeline.invoke(recorder, LazyImage(p)), photos[0], seed)
    return [
        Plan(pipeline, most, report),
        Plan(pipeline, most, report, envelope=envelope),
        Plan(pipeline, None, report),
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_the_code_does_what_the_plan_does(photos, case):
    make, loader = CASES[case]
    for plan in _plans(make, loader, photos):
        code = plan.to_code()
        assert plan.describe() in code
        namespace: dict = {}
        exec(compile(code, f"<to_code {case}>", "exec"), namespace)
        transform = namespace["make_transform"](plan.pipeline.original)
        generators = plan.pipeline.generators
        for path in photos:
            expected = [run_coupled(plan, path, s, generators) for s in (0, 1, 2)]
            got = [run_coupled(transform, path, s, generators) for s in (0, 1, 2)]
            verdict = compare(expected, got, output_units(plan.pipeline))
            assert verdict.problem is None and verdict.max_abs == 0, (case, verdict)


def test_the_code_of_an_optimized_plan_says_what_was_measured(photos):
    plan = reorder.optimize(CASES["v1 eval"][0](), photos[:1], seeds=1, repeats=1, progress=False)
    code = plan.to_code()
    compile(code, "<to_code>", "exec")
    assert f"Chosen  : {plan.describe()}" in code
    assert ("worst PSNR" in code) == (plan.chosen is not None)
