"""The envelope: what verification reached, and the runtime keeping to it.

A plan records, per segment, the input sizes it was verified on and, per approximate
kernel path (each stage's branch and the decode factor), the shrinks it met. At run time
a segment whose path, size or shrink lies outside runs the original's own kernels; a
path of exact steps alone runs anywhere.
"""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from conftest import write_image
from reorder.frontends import parse
from reorder.ir import Envelope, ImageSpec
from reorder.measure.verify import run_coupled
from reorder.ops.backends import CV_AREA
from reorder.ops.geometry import Resize
from reorder.runtime import Executor, LazyImage, draw, segment_path
from reorder.search import enumerate_plans


def _plan_with(pipeline, kernel):
    """The plan whose first stage runs `kernel` over the whole segment's resize."""
    return next(
        p
        for p in enumerate_plans(pipeline)
        if p.decode.option("backend") == "simplejpeg"
        and not p.decode.option("min_shrink")
        and [s.kernel for s in p.segments[0].stages][:1] == [kernel]
    )


def _recorded(pipeline, plan, paths, seeds=(0, 1)) -> Envelope:
    envelope = Envelope()
    executor = Executor(pipeline, plan, record_into=envelope)
    for path in paths:
        for seed in seeds:
            run_coupled(executor, LazyImage(path), seed)
    return envelope


def test_round_trips_through_json_and_refuses_malformed_data():
    envelope = Envelope()
    envelope.record(0, ImageSpec(500, 375), "cv_area[resize_area] @2", (2.2, 1.7))
    envelope.record(0, ImageSpec(640, 480), "cv_area[resize_area] @2", (2.9, 2.1))
    again = Envelope.from_dict(json.loads(json.dumps(envelope.to_dict())))
    assert again == envelope
    for bad in ({}, {"segments": [{"index": "0"}]}, {"segments": [{"index": 0, "paths": {}}]}):
        with pytest.raises(ValueError):
            Envelope.from_dict(bad)


def test_admits_only_what_was_recorded():
    envelope = Envelope()
    path = "cv_area[resize_area] @2"
    envelope.record(0, ImageSpec(500, 375), path, (2.0, 2.0))
    envelope.record(0, ImageSpec(640, 480), path, (3.0, 2.5))
    assert envelope.admits(0, ImageSpec(600, 450), path, (2.5, 2.2))  # in between
    assert not envelope.admits(0, ImageSpec(600, 450), path, (3.5, 2.2))  # shrinks more
    assert not envelope.admits(0, ImageSpec(600, 400), path, (2.5, 2.2))  # another aspect
    assert not envelope.admits(0, ImageSpec(700, 525), path, (2.5, 2.2))  # larger
    assert not envelope.admits(0, ImageSpec(600, 450), "cv_area[resize_blur] @2", (2.5, 2.2))
    assert not envelope.admits(1, ImageSpec(600, 450), path, (2.5, 2.2))  # another segment
    assert envelope.admits(1, ImageSpec(9, 9999), "", ())  # exact steps alone


def test_merge_grows_to_hold_both():
    a, b = Envelope(), Envelope()
    a.record(0, ImageSpec(500, 375), "p", (2.0,))
    b.record(0, ImageSpec(800, 600), "p", (4.0,))
    b.record(0, ImageSpec(800, 600), "q", (1.0,))
    assert a.merge(b) and not a.merge(b)
    assert a.admits(0, ImageSpec(700, 525), "p", (3.0,))
    assert a.admits(0, ImageSpec(600, 450), "q", (1.0,))


def test_the_path_is_known_before_any_pixel_and_names_the_branch_that_runs():
    """A 1.3x shrink is plain bilinear, a 2.5x one blurred, a 6x one a pixel-area
    average: each a path of its own, worked out from sizes alone."""
    spec = ImageSpec(640, 480)
    for out, branch in ((492, "resize_mild_linear"), (256, "resize_blur"), (100, "resize_area")):
        op = Resize(out, out * 3 // 4, "bilinear", True)
        assert CV_AREA.branches([op], spec, spec) == (branch,)


def test_a_branch_verification_never_saw_runs_the_original_kernels(image_dir):
    """Verified on a photo that takes the pixel-area branch, the plan meets one whose
    shrink takes plain bilinear: that one gets the original's bytes."""
    big = write_image(image_dir, 640, 480, "jpg", seed=3)  # 640 -> 100: pixel-area
    mild = write_image(image_dir, 140, 105, "jpg", seed=4)  # 140 -> 100: plain bilinear
    tf = T.Compose([T.Resize(100), T.ToTensor()])
    pipeline = parse(tf)
    plan = _plan_with(pipeline, "cv_area")
    envelope = _recorded(pipeline, plan, [big])
    (known,) = envelope.segments.values()
    assert all("resize_area" in key for key in known.paths)
    guarded, unguarded = Executor(pipeline, plan, envelope), Executor(pipeline, plan)
    expected = tf(Image.open(mild).convert("RGB"))
    assert torch.equal(guarded(LazyImage(mild)), expected)
    assert not torch.equal(unguarded(LazyImage(mild)), expected)  # the branch is approximate
    # Inside the envelope it runs as planned (approximately, not the original's bytes).
    assert torch.equal(guarded(LazyImage(big)), unguarded(LazyImage(big)))


def test_exact_steps_need_no_envelope(image_dir):
    """A plan of exact rules records nothing and runs on anything, to float rounding."""
    tf = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor()])
    pipeline = parse(tf)
    plan = next(p for p in enumerate_plans(pipeline) if set(p.rules) == {"crop_before_resize"})
    path = write_image(image_dir, 300, 200, "jpg", seed=5)
    assert _recorded(pipeline, plan, [path]).segments == {}
    odd = write_image(image_dir, 31, 900, "jpg", seed=6)
    drawn, _ = draw(pipeline, plan.segments[0].ops, ImageSpec(31, 900))
    assert segment_path(plan.segments[0], drawn, 0.0).key == ""
    got = Executor(pipeline, plan, Envelope())(Image.open(odd).convert("RGB"))
    expected = tf(Image.open(odd).convert("RGB"))
    assert (got - expected).abs().max() * 255 <= 2.001
