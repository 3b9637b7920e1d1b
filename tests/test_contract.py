"""The contract (DESIGN.md section 1), over random torchvision v1 and v2 pipelines (v2 on
PIL images and on uint8 tensors from torchvision.io), image sizes, formats and seeds.

Every candidate the search can produce must make the same random decisions as the
original and leave every RNG stream in the same state; candidates built from exact rules
only must match to float rounding; the plan `optimize` chooses must hold its tolerance on
images and seeds it never saw.
"""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torchvision import transforms as T
from torchvision.transforms import InterpolationMode as IM
from torchvision.transforms import v2

import reorder
from conftest import MEAN, STD, USER_LOADERS, write_image
from reorder.frontends import parse
from reorder.measure.verify import compare, output_units, run_coupled
from reorder.rules import EXACT_RULE_NAMES as EXACT_RULES
from reorder.runtime import LazyImage
from reorder.runtime.transform import PlanTransform
from reorder.search import enumerate_plans

interpolations = st.sampled_from([IM.BILINEAR, IM.BICUBIC, IM.NEAREST])
small = st.integers(8, 120)


class CoinFlipBarrier:
    """A user's own op: opaque, and it draws from the torch RNG itself."""

    def __call__(self, img):
        if torch.rand(1) >= 0.5:
            return img
        return img.flip(-1) if isinstance(img, torch.Tensor) else img.transpose(0)

    def __repr__(self) -> str:
        return "CoinFlipBarrier()"


def ops_of(M):
    """Strategies for the geometric and value ops of a transforms module (v1 or v2)."""
    geometric = st.one_of(
        st.builds(M.Resize, small, interpolation=interpolations),
        st.builds(lambda h, w: M.Resize((h, w)), small, small),
        st.builds(lambda s: M.Resize(s, max_size=s + 20), small),
        st.builds(M.CenterCrop, st.integers(4, 200)),
        st.builds(
            lambda s, pad, mode: M.RandomCrop(
                s, padding=pad, pad_if_needed=True, padding_mode=mode
            ),
            st.integers(4, 150),
            st.sampled_from([None, 3, (1, 2)]),
            st.sampled_from(["constant", "edge", "reflect", "symmetric"]),
        ),
        st.builds(M.RandomResizedCrop, small, interpolation=interpolations),
        st.builds(M.RandomHorizontalFlip, st.sampled_from([0.0, 0.5, 1.0])),
        st.builds(M.RandomVerticalFlip, st.sampled_from([0.0, 0.5, 1.0])),
        st.builds(
            M.RandomRotation,
            st.sampled_from([5, 30, (-8, 8), 180]),
            interpolation=st.sampled_from([IM.NEAREST, IM.BILINEAR]),
            expand=st.booleans(),
            fill=st.sampled_from([0, 128]),
        ),
        st.builds(M.Pad, st.sampled_from([2, (1, 3), (1, 2, 3, 4)]), fill=st.sampled_from([0, 9])),
        st.builds(
            M.RandomPerspective,
            st.sampled_from([0.0, 0.3, 0.6]),
            p=st.sampled_from([0.0, 0.5, 1.0]),
            interpolation=st.sampled_from([IM.NEAREST, IM.BILINEAR, IM.BICUBIC]),
            fill=st.sampled_from([0, 128]),
        ),
    )
    values = st.one_of(
        st.builds(lambda hue: M.ColorJitter(0.4, 0.4, 0.4, hue), st.sampled_from([0.0, 0.1])),
        st.builds(M.Grayscale, st.sampled_from([1, 3])),
        st.builds(M.RandomGrayscale, st.sampled_from([0.0, 0.5, 1.0])),
        # Kernels up to 31 px: wider than the smallest images, where the original raises.
        st.builds(
            M.GaussianBlur,
            st.sampled_from([1, 3, 5, (3, 9), 31]),
            sigma=st.sampled_from([0.8, (0.1, 2.0)]),
        ),
        st.just(M.Lambda(lambda img: img)),
        st.builds(CoinFlipBarrier),
    )
    if M is v2:
        geometric = st.one_of(geometric, _v2_only(geometric, values))
    return geometric, values


def _v2_only(geometric, values):
    """v2's RandomAffine and containers (members drawn from the other ops, opaque ones too)."""
    members = st.lists(st.one_of(geometric, values), min_size=1, max_size=3)
    return st.one_of(
        st.builds(
            v2.RandomAffine,
            st.sampled_from([0, 15, (-30, 30)]),
            translate=st.sampled_from([None, (0.1, 0.2)]),
            scale=st.sampled_from([None, (0.8, 1.2)]),
            shear=st.sampled_from([None, 10, (-5, 5, -5, 5)]),
            interpolation=st.sampled_from([IM.NEAREST, IM.BILINEAR]),
            fill=st.sampled_from([0, 77]),
        ),
        st.builds(v2.RandomApply, members, p=st.sampled_from([0.0, 0.5, 1.0])),
        st.builds(
            lambda ts, weights: v2.RandomChoice(ts, p=weights[: len(ts)] if weights else None),
            members,
            st.sampled_from([None, [3.0, 1.0, 0.5]]),
        ),
        st.builds(v2.RandomOrder, members),
    )


V1_TAILS = [
    [],
    [T.ToTensor()],
    [T.ToTensor(), T.Normalize(MEAN, STD)],
    [T.PILToTensor()],
    [T.PILToTensor(), T.ConvertImageDtype(torch.float32), T.Normalize([0.5], [0.25])],
]
V2_TAILS = [
    [],
    [v2.ToImage()],
    [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)],
    [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)],
    [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.25])],
]


# A v2 pipeline fed uint8 CHW tensors (torchvision.io) has no PIL stage to convert.
V2_TENSOR_TAILS = [
    [],
    [v2.ToDtype(torch.float32, scale=True)],
    [v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)],
    [v2.ToImage()],
    [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.25])],
]


def pipelines_of(M, tails):
    geometric, values = ops_of(M)
    return st.builds(
        lambda body, tail: M.Compose(body + tail),
        st.lists(st.one_of(geometric, geometric, values), min_size=1, max_size=4),
        st.sampled_from(tails),
    )


# (pipeline, the loader its images come from)
cases = st.one_of(
    st.tuples(pipelines_of(T, V1_TAILS), st.just("pil")),
    st.tuples(pipelines_of(v2, V2_TAILS), st.just("pil")),
    st.tuples(pipelines_of(v2, V2_TENSOR_TAILS), st.just("torchvision.io")),
)
formats = st.sampled_from(["jpg", "jpg", "jpg", "png", "jpg-l", "png-rgba", "png-p"])


def original_outcome(pipeline, loader, path, seed):
    load = USER_LOADERS[loader]
    return run_coupled(lambda p: pipeline(load(p)), path, seed)


@settings(
    max_examples=120,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=cases,
    width=st.integers(1, 260),
    height=st.integers(1, 260),
    fmt=formats,
    seed=st.integers(0, 2**16),
)
def test_every_candidate_keeps_the_random_decisions(image_dir, case, width, height, fmt, seed):
    pipeline, loader = case
    path = write_image(image_dir, width, height, fmt, seed=seed % 7)
    seeds = [seed, seed + 1]
    logical = parse(pipeline, loader)
    original = [original_outcome(pipeline, loader, path, s) for s in seeds]
    units = output_units(logical)
    for plan in enumerate_plans(logical, limit=40):
        run = PlanTransform(logical, plan)
        got = [run_coupled(run, LazyImage(path), s) for s in seeds]
        verdict = compare(original, got, units)
        assert verdict.problem is None, (plan.describe([o.name for o in logical.ops]), verdict)
        if set(plan.rules) <= EXACT_RULES:
            assert verdict.within("exact"), (plan.rules, verdict)


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    case=cases,
    sizes=st.lists(st.tuples(st.integers(24, 400), st.integers(24, 400)), min_size=3, max_size=3),
    tolerance=st.sampled_from(["exact", "close", "fast"]),
)
def test_chosen_plan_holds_on_unseen_images_and_seeds(image_dir, case, sizes, tolerance):
    pipeline, loader = case
    paths = [write_image(image_dir, w, h, "jpg", seed=i) for i, (w, h) in enumerate(sizes)]
    plan = reorder.optimize(
        pipeline, paths[:1], tolerance=tolerance, loader=loader, seeds=1, repeats=1, progress=False
    )
    logical = plan.pipeline
    for path in paths[1:]:
        seeds = [101, 202]
        original = [original_outcome(pipeline, loader, path, s) for s in seeds]
        got = [run_coupled(plan, path, s) for s in seeds]
        verdict = compare(original, got, output_units(logical))
        assert verdict.problem is None, verdict
        assert verdict.within(tolerance), (plan.describe(), verdict)
