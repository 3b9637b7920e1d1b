"""The contract for albumentations pipelines: same draws from the transforms' own
generators, same output (sample by sample), same generator states afterwards, the same
call convention (`transform(image=...)` -> dict), and OpenCV's loader as the reference."""

from __future__ import annotations

import pickle
import tempfile
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

A = pytest.importorskip("albumentations")
from albumentations.pytorch import ToTensorV2  # noqa: E402

import reorder  # noqa: E402
from conftest import write_image  # noqa: E402
from reorder.frontends import parse  # noqa: E402
from reorder.measure.verify import compare, output_units, run_coupled  # noqa: E402
from reorder.ops.decode import cv2_rgb_loader  # noqa: E402
from reorder.optimizer import candidate_call, reference_call  # noqa: E402
from reorder.rules import EXACT_RULE_NAMES as EXACT_RULES  # noqa: E402
from reorder.runtime import LazyImage  # noqa: E402
from reorder.runtime.transform import PlanTransform  # noqa: E402
from reorder.search import enumerate_plans  # noqa: E402

small = st.integers(8, 120)
probability = st.sampled_from([0.0, 0.5, 1.0])
interpolations = st.sampled_from(
    [cv2.INTER_LINEAR, cv2.INTER_NEAREST, cv2.INTER_AREA, cv2.INTER_CUBIC]
)


def _upside_down(img, **params):
    return img[::-1].copy()


geometric = st.one_of(
    st.builds(
        A.Resize,
        small,
        small,
        interpolation=interpolations,
        area_for_downscale=st.sampled_from([None, "image"]),
        p=probability,
    ),
    st.builds(A.LongestMaxSize, max_size=small, interpolation=interpolations),
    st.builds(
        A.SmallestMaxSize,
        max_size=st.one_of(small, st.lists(small, min_size=2, max_size=3)),
        area_for_downscale=st.sampled_from([None, "image"]),
    ),
    st.builds(A.PadIfNeeded, min_height=small, min_width=small, border_mode=st.just(0)),
    st.builds(A.CenterCrop, small, small, pad_if_needed=st.booleans()),
    st.builds(A.RandomCrop, small, small, pad_if_needed=st.booleans()),
    st.builds(A.RandomResizedCrop, size=st.tuples(small, small), p=probability),
    st.builds(A.RandomSizedCrop, min_max_height=st.just((8, 40)), size=st.tuples(small, small)),
    st.builds(A.HorizontalFlip, p=probability),
    st.builds(A.VerticalFlip, p=probability),
    st.builds(A.Transpose, p=probability),
    st.builds(A.RandomRotate90, p=probability),
    st.builds(A.Rotate, limit=st.sampled_from([10, 45]), crop_border=st.booleans()),
    st.builds(A.Affine, rotate=st.just((-10, 10)), scale=st.just((0.8, 1.2)), p=probability),
    st.builds(A.ShiftScaleRotate, p=probability),
)
values = st.one_of(
    st.builds(A.ColorJitter, p=probability),
    st.builds(A.RandomBrightnessContrast, p=probability),
    st.builds(A.HueSaturationValue, p=probability),
    st.builds(A.ToGray, num_output_channels=st.sampled_from([1, 3]), p=probability),
    st.builds(A.GaussNoise, p=probability),
    st.builds(A.CoarseDropout, p=probability),
    st.builds(
        A.GaussianBlur,
        blur_limit=st.sampled_from([(3, 7), (0, 0)]),
        sigma_limit=st.sampled_from([(0.5, 2.0), 1.0]),
        p=probability,
    ),
    st.builds(A.Blur, p=probability),  # not modelled: a barrier
    st.just(A.Lambda(image=_upside_down)),  # opaque, and it moves pixels
)
leaf = st.one_of(geometric, geometric, values)
# OneOf weighs its children by their p: at least one must be positive.
choices = st.lists(leaf, min_size=1, max_size=3).filter(lambda ts: sum(t.p for t in ts) > 0)
nested = st.one_of(
    leaf,
    st.builds(A.OneOf, choices, p=probability),
    st.builds(A.Sequential, st.lists(leaf, min_size=1, max_size=2), p=probability),
    st.builds(
        lambda ts, n: A.SomeOf(ts, n=min(n, len(ts))),
        st.lists(leaf, min_size=1, max_size=3),
        st.integers(1, 2),
    ),
)
TAILS = ([], [A.Normalize()], [A.Normalize(), ToTensorV2()], [ToTensorV2()])
pipelines = st.builds(
    lambda body, tail, seed: A.Compose(body + tail, seed=seed),
    st.lists(nested, min_size=1, max_size=4),
    st.sampled_from(TAILS),
    st.sampled_from([None, 0, 7]),
)
formats = st.sampled_from(["jpg", "jpg", "jpg", "jpg-exif6", "png", "jpg-l", "png-rgba"])


def _write(folder, width, height, fmt, seed):
    if fmt == "jpg-exif6":  # cv2.imread rotates it; a plain JPEG decoder would not
        exif = Image.Exif()
        exif[0x0112] = 6
        return write_image(folder, width, height, "jpg", seed, name="exif6", exif=exif.tobytes())
    return write_image(folder, width, height, fmt, seed)


@settings(
    max_examples=100,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pipeline=pipelines,
    width=st.integers(1, 200),
    height=st.integers(1, 200),
    fmt=formats,
    seed=st.integers(0, 2**16),
)
def test_every_candidate_keeps_the_random_decisions(image_dir, pipeline, width, height, fmt, seed):
    path = _write(image_dir, width, height, fmt, seed % 7)
    logical = parse(pipeline)
    seeds, generators = [seed, seed + 1], logical.generators
    original = [run_coupled(reference_call(logical), path, s, generators) for s in seeds]
    units = output_units(logical)
    for plan in enumerate_plans(logical, limit=40):
        run = candidate_call(logical, plan)
        got = [run_coupled(run, LazyImage(path), s, generators) for s in seeds]
        verdict = compare(original, got, units)
        assert verdict.problem is None, (plan.describe([o.name for o in logical.ops]), verdict)
        if set(plan.rules) <= EXACT_RULES:
            assert verdict.within("exact"), (plan.rules, verdict)


SHAPE_AND_CHOICE = [
    [A.OneOf([A.HorizontalFlip(p=0.5), A.Transpose(p=0.5), A.RandomRotate90(p=0.2)], p=0.8)],
    [A.SomeOf([A.Transpose(), A.VerticalFlip(p=0.5), A.RandomRotate90()], n=2, p=0.9)],
    [A.RandomOrder([A.Transpose(p=0.5), A.RandomCrop(40, 30), A.ToGray(p=0.5)], n=2)],
    [A.Sequential([A.Transpose(p=0.5), A.RandomCrop(50, 30)], p=0.5), A.RandomCrop(20, 20)],
    [A.RandomRotate90(), A.RandomCrop(50, 30, pad_if_needed=True)],
    [A.PadIfNeeded(130, 130), A.RandomCrop(100, 60)],
    [A.Rotate(limit=40, crop_border=True), A.RandomCrop(20, 20)],
    [A.Affine(rotate=(-30, 30), fit_output=True), A.RandomCrop(30, 30)],
    [A.LongestMaxSize([60, 90]), A.RandomCrop(30, 30), A.CoarseDropout(), A.GaussNoise()],
]


@pytest.mark.parametrize(
    "body",
    [
        [A.ToGray(p=0.5), A.LongestMaxSize(8)],
        [A.ToGray(p=0.5)],
        [A.ToGray(p=0.5), A.Lambda(image=_upside_down), A.HorizontalFlip()],
    ],
    ids=["then-resize", "alone", "then-barrier"],
)
def test_an_op_whose_output_is_not_the_drawn_shape_does_what_the_original_does(body):
    """albumentations' ToGray turns a 1x1 image into a 1-d array, on which LongestMaxSize
    then raises; the plan drew for a 1x1 image, so it must notice and fail the same way,
    or return the same 1-d array (found by hypothesis)."""
    path = write_image(Path(tempfile.mkdtemp()), 1, 1, "jpg", seed=0)
    logical = parse(A.Compose(body))
    seeds, generators = range(8), logical.generators
    original = [run_coupled(reference_call(logical), path, s, generators) for s in seeds]
    assert any(o.error or o.output["image"].ndim == 1 for o in original)
    for plan in enumerate_plans(logical):
        got = [
            run_coupled(candidate_call(logical, plan), LazyImage(path), s, generators)
            for s in seeds
        ]
        verdict = compare(original, got, output_units(logical))
        assert verdict.problem is None, (plan.rules, verdict)


@pytest.mark.parametrize("body", SHAPE_AND_CHOICE, ids=lambda b: "-".join(map(repr, b))[:60])
def test_compositions_and_size_changes_draw_in_order(image_dir, body):
    """Where the draws of later ops depend on the size an earlier one made, on a
    non-square image, over many seeds: every candidate, same outputs and generators."""
    path = write_image(image_dir, 120, 70, "jpg", seed=3)
    logical = parse(A.Compose(body))
    seeds, generators = range(16), logical.generators
    original = [run_coupled(reference_call(logical), path, s, generators) for s in seeds]
    assert all(o.error is None for o in original)
    for plan in enumerate_plans(logical):
        run = candidate_call(logical, plan)
        got = [run_coupled(run, LazyImage(path), s, generators) for s in seeds]
        verdict = compare(original, got, output_units(logical))
        assert verdict.problem is None and verdict.within("exact"), (plan.rules, verdict)


def _eval_pipeline(seed=None):
    return A.Compose(
        [A.SmallestMaxSize(64), A.CenterCrop(56, 56), A.Normalize(), ToTensorV2()], seed=seed
    )


def _train_pipeline(seed=None):
    return A.Compose(
        [
            A.RandomResizedCrop((48, 48)),
            A.HorizontalFlip(),
            A.OneOf([A.GaussNoise(), A.CoarseDropout()], p=0.7),
            A.ShiftScaleRotate(p=0.5),
            A.HueSaturationValue(),
            A.RandomBrightnessContrast(),
            A.Normalize(),
            ToTensorV2(),
        ],
        seed=seed,
    )


@pytest.fixture
def photos(image_dir):
    return [write_image(image_dir, 320 + 40 * i, 240, "jpg", seed=i) for i in range(3)]


@pytest.mark.parametrize("make", [_eval_pipeline, _train_pipeline])
def test_a_seeded_compose_augments_the_same_with_and_without_the_plan(photos, make):
    """`A.Compose(..., seed=s)`: the plan's calls give the original's sequence of outputs
    and transform params, and leave every generator as the original leaves it, even after
    the user reseeds (which replaces the generator objects)."""
    original, planned = make(seed=3), make(seed=3)
    logical = parse(planned)
    fast = next(p for p in enumerate_plans(logical) if p.rules == ("fast_jpeg_decode",))
    run = candidate_call(logical, fast)
    run(LazyImage(photos[0]))
    planned.set_random_seed(3)  # a fresh stream, as in a worker_init_fn
    for _ in range(3):
        for path in photos:
            want = original(image=cv2_rgb_loader(path))
            got = run(LazyImage(path))
            assert set(got) == {"image"} and torch.equal(got["image"], want["image"])
            for t_want, t_got in zip(original.transforms, planned.transforms, strict=True):
                assert repr(getattr(t_want, "params", None)) == repr(getattr(t_got, "params", None))
    states = [
        [g.bit_generator.state if hasattr(g, "bit_generator") else g.getstate() for g in gs]
        for gs in (parse(original).generators, parse(planned).generators)
    ]
    assert repr(states[0]) == repr(states[1])


def test_call_convention_and_types(photos):
    pipeline = _eval_pipeline(seed=0)
    plan = reorder.optimize(pipeline, photos[:2], seeds=1, repeats=1, progress=False)
    arr = cv2_rgb_loader(photos[2])
    out = plan.transform(image=arr)
    assert set(out) == {"image"} and out["image"].dtype == torch.float32
    assert tuple(out["image"].shape) == (3, 56, 56)
    with pytest.raises(KeyError, match="named arguments"):
        plan.transform(arr)
    via_loader = plan.transform(image=plan.loader(photos[2]))
    assert torch.allclose(via_loader["image"], out["image"], atol=0.2)


def test_extra_targets_run_the_original_and_say_so(photos):
    pipeline = A.Compose([A.RandomCrop(64, 64), A.HorizontalFlip()], seed=1)
    logical = parse(pipeline)
    transform = PlanTransform(logical, enumerate_plans(logical)[-1])
    arr = cv2_rgb_loader(photos[0])
    mask = (arr[..., 0] > 128).astype(np.uint8)
    pipeline.set_random_seed(5)
    want = pipeline(image=arr, mask=mask)
    pipeline.set_random_seed(5)
    with pytest.warns(UserWarning, match=r"target\(s\) \['mask'\] are not planned yet"):
        got = transform(image=arr, mask=mask)
    assert np.array_equal(got["image"], want["image"])
    assert np.array_equal(got["mask"], want["mask"])


def test_plans_pickle_for_dataloader_workers(photos):
    plan = reorder.optimize(_train_pipeline(seed=2), photos[:2], seeds=1, progress=False)
    clone = pickle.loads(pickle.dumps(plan))
    for g, h in zip(plan.pipeline.generators, clone.pipeline.generators, strict=True):
        assert type(g) is type(h)
    a = [run_coupled(plan, p, 9, plan.pipeline.generators) for p in photos]
    b = [run_coupled(clone, p, 9, clone.pipeline.generators) for p in photos]
    assert compare(a, b, output_units(plan.pipeline)).worst_psnr == float("inf")


@pytest.mark.parametrize(
    "whole",
    [
        A.Compose([A.HorizontalFlip(), A.Normalize()], p=0.5),
        A.OneOf([A.HorizontalFlip(), A.VerticalFlip()], p=1.0),
    ],
)
def test_pipelines_it_cannot_split_run_whole_and_still_decode_faster(photos, whole):
    plan = reorder.optimize(whole, photos[:2], progress=False, repeats=1)
    assert [op.opaque for op in plan.pipeline.ops] == [True]
    logical = plan.pipeline
    for path in photos:
        want = [run_coupled(reference_call(logical), path, s, logical.generators) for s in (1, 2)]
        got = [run_coupled(plan, path, s, logical.generators) for s in (1, 2)]
        verdict = compare(want, got, output_units(logical))
        assert verdict.problem is None and verdict.within("exact"), verdict


@pytest.mark.parametrize(
    "pipeline",
    [
        A.ReplayCompose([A.HorizontalFlip()]),
        A.Compose([A.HorizontalFlip()], save_applied_params=True),
    ],
)
def test_pipelines_that_return_more_than_the_image_are_refused_clearly(photos, pipeline):
    with pytest.raises(TypeError, match="applied params besides the image"):
        reorder.optimize(pipeline, photos[:1], progress=False)


@pytest.mark.parametrize("content", [b"", b"not an image", b"\xff\xd8\xff\xe0" + b"\0" * 40])
def test_unreadable_files_fail_as_the_reference_loader_does(image_dir, photos, content):
    bad = image_dir / "bad.jpg"
    bad.write_bytes(content)
    plan = reorder.optimize(_eval_pipeline(0), photos[:1], seeds=1, repeats=1, progress=False)
    with pytest.raises(ValueError) as reference:
        cv2_rgb_loader(bad)
    with pytest.raises(type(reference.value), match="bad.jpg"):
        plan(bad)


def test_exif_rotated_jpegs_are_decoded_as_opencv_does(image_dir):
    exif = Image.Exif()
    exif[0x0112] = 6
    path = write_image(image_dir, 120, 80, "jpg", name="rot", exif=exif.tobytes())
    assert cv2_rgb_loader(path).shape == (120, 80, 3)  # rotated by OpenCV
    pipeline = A.Compose([A.CenterCrop(60, 60)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = reorder.optimize(pipeline, [path], tolerance="exact", progress=False)
    assert np.array_equal(plan(path)["image"], pipeline(image=cv2_rgb_loader(path))["image"])


def test_plan_files_round_trip_and_refuse_another_pipeline(photos, tmp_path):
    pipeline = _eval_pipeline(seed=0)
    plan = reorder.optimize(pipeline, photos[:2], seeds=1, repeats=1, progress=False)
    plan.save(tmp_path / "plan.json")
    loaded = reorder.load(tmp_path / "plan.json", pipeline)
    assert loaded.describe() == plan.describe()
    assert torch.equal(loaded(photos[2])["image"], plan(photos[2])["image"])
    other = A.Compose([A.SmallestMaxSize(72), A.CenterCrop(56, 56), A.Normalize(), ToTensorV2()])
    with pytest.raises(reorder.PlanFileError):
        reorder.load(tmp_path / "plan.json", other)


def test_ops_applied_by_their_own_code_run_planned_not_replayed(photos, monkeypatch):
    """Each own-code op's output is checked against the shape its parameters were drawn
    for, and a mismatch replays the segment as written; ordinary images never need that."""
    import reorder.runtime.interpreter

    def replay(*args, **kwargs):
        raise AssertionError("the segment was replayed")

    monkeypatch.setattr(reorder.runtime.interpreter, "set_rng_state", replay)
    body = [A.Affine(rotate=(-20, 20), fit_output=True), A.ToGray(p=0.5), A.HueSaturationValue()]
    logical = parse(A.Compose([*body, A.RandomCrop(40, 40), A.Normalize(), ToTensorV2()], seed=1))
    for plan in enumerate_plans(logical):
        for _ in range(4):
            candidate_call(logical, plan)(LazyImage(photos[0]))


@pytest.mark.parametrize(
    ("resize", "reduces"),
    [
        (lambda: A.SmallestMaxSize(256), False),  # INTER_LINEAR: reads single pixels
        (lambda: A.LongestMaxSize(320, interpolation=cv2.INTER_NEAREST), False),
        (lambda: A.SmallestMaxSize(256, interpolation=cv2.INTER_AREA), True),
        (lambda: A.Resize(200, 200, area_for_downscale="image"), True),
    ],
)
def test_a_reduced_decode_only_before_an_averaging_shrink(resize, reduces):
    """An unantialiased shrink samples single source pixels, so its result depends on the
    source resolution: no DCT-reduced decode before it (33-35 dB on grainy photos)."""
    from reorder.search import enumerate_plans

    logical = parse(A.Compose([resize(), A.Normalize(), ToTensorV2()]))
    margins = {p.decode.option("min_shrink") for p in enumerate_plans(logical)}
    assert (margins != {None}) == reduces, margins
