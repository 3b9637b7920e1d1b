"""torchvision v2 pipelines fed uint8 tensors (`loader="torchvision.io"`): the reference is
`decode_image(read_file(path), mode=RGB)`; the plan takes paths, lazy images, plain
tensors and `tv_tensors.Image`s and returns what the original returns, type included."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode as IM
from torchvision.transforms import v2

import reorder
from conftest import MEAN, STD, write_image
from reorder.frontends import parse
from reorder.measure.verify import compare, output_units, run_coupled
from reorder.ops.decode import tensor_rgb_loader
from reorder.optimizer import candidate_call, reference_call
from reorder.runtime import LazyImage
from reorder.search import enumerate_plans

pytestmark = pytest.mark.filterwarnings("ignore:The image decoding:DeprecationWarning")

TO_FLOAT = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]

# Where a draw depends on the size an earlier op made, or an op runs v2's own tensor kernel
# (saturation, hue, rotation, padding and grayscale differ from v1's on tensors).
BODIES = [
    [v2.ColorJitter(0.4, 0.4, 0.4, 0.1), v2.Resize(48)],
    [v2.RandomRotation(30, IM.BILINEAR, expand=True, fill=77), v2.CenterCrop(40)],
    [v2.RandomCrop(60, padding=3, pad_if_needed=True, padding_mode="reflect"), v2.Grayscale(3)],
    [v2.RandomApply([v2.ColorJitter(saturation=0.5)], p=0.5), v2.RandomGrayscale(0.5)],
    [v2.RandomChoice([v2.Resize(40), v2.RandomAffine(20, shear=10)], p=[2.0, 1.0])],
    [v2.RandomOrder([v2.RandomHorizontalFlip(), v2.RandomCrop(50), v2.Pad((1, 2, 3, 4))])],
    [v2.RandomResizedCrop(48), v2.RandomVerticalFlip(), *TO_FLOAT],
    [v2.Resize(64, antialias=False), v2.ToImage(), v2.RandomRotation(10), *TO_FLOAT],
]


@pytest.mark.parametrize("body", BODIES, ids=lambda b: "-".join(type(t).__name__ for t in b))
def test_every_candidate_keeps_the_draws_and_the_faster_decoder_is_bit_exact(image_dir, body):
    """Over 16 seeds, on a non-square JPEG: same outputs (types included) and RNG state;
    a candidate that only swaps in the faster decoder (same bytes), bit for bit."""
    path = write_image(image_dir, 120, 70, "jpg", seed=3)
    pipeline = v2.Compose(body)
    logical = parse(pipeline, "torchvision.io")
    seeds = range(16)
    original = [run_coupled(reference_call(logical), path, s) for s in seeds]
    assert all(o.error is None for o in original)
    for plan in enumerate_plans(logical):
        got = [run_coupled(candidate_call(logical, plan), LazyImage(path), s) for s in seeds]
        verdict = compare(original, got, output_units(logical))
        assert verdict.problem is None, (plan.rules, verdict)
        if set(plan.rules) <= {"fast_jpeg_decode"}:
            assert verdict.max_abs == 0, (plan.rules, verdict)


def _eval_pipeline():
    return v2.Compose([v2.Resize(64), v2.CenterCrop(56), *TO_FLOAT])


@pytest.fixture(scope="module")
def photos(image_dir):
    # Large enough that a 64 px output is decoded at 1/2 with 2 source pixels per output.
    return [write_image(image_dir, 640 + 80 * i, 480, "jpg", seed=i) for i in range(3)]


@pytest.fixture(scope="module")
def eval_plan(photos):
    return reorder.optimize(
        _eval_pipeline(), photos[:2], loader="torchvision.io", seeds=1, repeats=1, progress=False
    )


def test_the_reduced_decode_stays_within_tolerance(photos):
    """The candidate that decodes at 1/2 (which one the optimizer picks is timing, a bench
    matter): its output differs from the full-size decode's, and stays within 'close'."""
    logical = parse(_eval_pipeline(), "torchvision.io")
    by_rules = {plan.rules: plan for plan in enumerate_plans(logical)}
    reduced = by_rules[("fast_jpeg_decode", "decode_at_dct_scale")]
    full = by_rules[("fast_jpeg_decode",)]
    seeds = (0, 1)
    original = [run_coupled(reference_call(logical), p, s) for p in photos for s in seeds]
    for plan, exact in ((full, True), (reduced, False)):
        run = candidate_call(logical, plan)
        got = [run_coupled(run, LazyImage(p), s) for p in photos for s in seeds]
        verdict = compare(original, got, output_units(logical))
        assert verdict.within("close"), (plan.rules, verdict)
        assert (verdict.max_abs == 0) == exact, (plan.rules, verdict)


@pytest.mark.parametrize("wrap", [lambda t: t, tv_tensors.Image], ids=["tensor", "tv_image"])
def test_tensors_given_directly_give_the_originals_output_and_type(eval_plan, photos, wrap):
    image = wrap(tensor_rgb_loader(photos[2]))
    for pipeline in (_eval_pipeline(), v2.Compose([v2.RandomCrop(50), v2.RandomHorizontalFlip()])):
        plan = reorder.optimize(
            pipeline, photos[:1], loader="torchvision.io", seeds=1, repeats=1, progress=False
        )
        torch.manual_seed(5)
        expected = pipeline(image)
        torch.manual_seed(5)
        got = plan.transform(image)
        assert type(got) is type(expected) and torch.equal(got, expected)


class _Files(Dataset):
    def __init__(self, paths, loader, transform):
        self.paths, self.loader, self.transform = paths, loader, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.transform(self.loader(self.paths[i]))


def test_plans_work_in_dataloader_workers(eval_plan, photos):
    plan = pickle.loads(pickle.dumps(eval_plan))
    loader = DataLoader(_Files(photos, plan.loader, plan.transform), batch_size=3, num_workers=2)
    batch = next(iter(loader))
    assert batch.shape == (3, 3, 56, 56)
    assert torch.equal(batch[2], eval_plan(photos[2]))


@pytest.mark.parametrize("content", [b"", b"not an image", b"\xff\xd8\xff\xe0" + b"\0" * 40, None])
def test_unreadable_files_fail_as_torchvision_io_does(image_dir, eval_plan, content):
    bad = image_dir / "bad_tensor.jpg"
    bad.unlink(missing_ok=True)
    if content is not None:
        bad.write_bytes(content)
    with pytest.raises(Exception) as reference:
        tensor_rgb_loader(bad)
    with pytest.raises(type(reference.value), match="bad_tensor.jpg"):
        eval_plan(bad)


def test_loaders_a_frontend_does_not_read_are_refused(photos):
    with pytest.raises(ValueError, match="torchvision.io"):
        reorder.optimize(v2.Compose([v2.Resize(8)]), photos[:1], loader="cv2", progress=False)
    from torchvision import transforms as T

    with pytest.raises(ValueError, match="'pil'"):
        reorder.optimize(T.Resize(8), photos[:1], loader="torchvision.io", progress=False)


def test_plan_files_remember_the_loader(eval_plan, photos, tmp_path):
    eval_plan.save(tmp_path / "plan.json")
    loaded = reorder.load(tmp_path / "plan.json", _eval_pipeline())  # the recorded loader
    assert loaded.pipeline.loader == "torchvision.io"
    assert torch.equal(loaded(photos[2]), eval_plan(photos[2]))
    with pytest.raises(reorder.PlanFileError, match="different pipeline"):
        reorder.load(tmp_path / "plan.json", _eval_pipeline(), loader="pil")


@pytest.mark.parametrize("loader", ["pil", "torchvision.io"])
def test_ops_applied_by_their_own_code_run_planned_not_replayed(image_dir, loader, monkeypatch):
    """The plan checks each own-code op's output shape against the drawn spec and replays
    the segment as written on a mismatch; on ordinary images that must never happen (a
    replay is correct but slow)."""
    import reorder.runtime.interpreter

    def replay(*args, **kwargs):
        raise AssertionError("the segment was replayed")

    monkeypatch.setattr(reorder.runtime.interpreter, "set_rng_state", replay)
    path = write_image(image_dir, 150, 100, "jpg", seed=4)
    body = [v2.RandomAffine(20, shear=10), v2.ColorJitter(0.3, 0.3, 0.3, 0.1), v2.Resize(40)]
    logical = parse(v2.Compose([*body, v2.ToImage()]), loader)
    for plan in enumerate_plans(logical):
        for seed in range(4):
            torch.manual_seed(seed)
            candidate_call(logical, plan)(LazyImage(path))
