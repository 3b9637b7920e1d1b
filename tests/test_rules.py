"""Each rule: where it applies and pays, and where its precondition fails; and the traps
of DESIGN.md section 3, each shown to be a trap and shown to be avoided."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import v2

from conftest import MEAN, STD, write_image
from reorder.frontends import parse
from reorder.ir import ImageSpec, Trait
from reorder.ops import colour
from reorder.ops import decode as decode_module
from reorder.ops import geometry as geometry_module
from reorder.ops.backends import CV, CV_AREA, CV_BLUR
from reorder.ops.box import box_resample, compose_box
from reorder.ops.colour import ColorAdjust, Gray
from reorder.ops.geometry import OPENCV, Flip, Resize, Rotate, rotation_matrix
from reorder.ops.registry import REFERENCE, apply_reference, branch_for
from reorder.ops.warp import warp_in_smaller_frame
from reorder.rules import RULES
from reorder.rules import rewrites as apply_rule
from reorder.runtime import LazyImage
from reorder.runtime.transform import PlanTransform
from reorder.samples import make_scene
from reorder.search import as_written, enumerate_plans

RULE = {rule.name: rule for rule in RULES}


def psnr(a, b) -> float:
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def rewrites(rule_name, transform, plan=None):
    pipeline = parse(transform)
    plan = plan or as_written(pipeline)
    return pipeline, list(apply_rule(RULE[rule_name], plan, pipeline))


def first_rewrite(rule_name, transform, plan=None):
    pipeline, plans = rewrites(rule_name, transform, plan)
    assert plans, f"{rule_name} did not apply"
    return pipeline, plans[0]


def run_both(transform, plan, pipeline, path, seed=0):
    torch.manual_seed(seed)
    expected = transform(Image.open(path).convert("RGB"))
    torch.manual_seed(seed)
    got = PlanTransform(pipeline, plan)(LazyImage(path))
    return expected, got


def as_pixels(x):
    """Outputs in 0..255 units: tensors from ToTensor are scaled back."""
    if isinstance(x, torch.Tensor):
        return (x.numpy() * 255.0).transpose(1, 2, 0)
    return np.asarray(x)


def test_every_rule_declares_exactness_and_why():
    assert len(RULE) == len(RULES)
    for rule in RULES:
        assert isinstance(rule.exact, bool)
        assert len(rule.why) > 40
        # An approximate rule says which geometries its error depends on.
        assert (not rule.exact) == (len(rule.approximate_on) > 20)


# -- fast_jpeg_decode ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpg", "jpg-l"])
def test_fast_decode_is_bit_identical_on_ycbcr_and_gray_jpeg(image_dir, fmt):
    path = write_image(image_dir, 333, 217, fmt, seed=3)
    transform = T.Compose([T.PILToTensor()])
    pipeline, plan = first_rewrite("fast_jpeg_decode", transform)
    expected, got = run_both(transform, plan, pipeline, path)
    assert torch.equal(expected, got)


@pytest.mark.parametrize("fmt", ["png", "jpg-cmyk", "png-p"])
def test_fast_decode_leaves_other_files_to_pillow(image_dir, fmt, monkeypatch):
    path = write_image(image_dir, 64, 48, fmt)
    calls = []
    monkeypatch.setattr(decode_module.simplejpeg, "decode_jpeg", lambda *a, **k: calls.append(a))
    transform = T.Compose([T.PILToTensor()])
    pipeline, plan = first_rewrite("fast_jpeg_decode", transform)
    expected, got = run_both(transform, plan, pipeline, path)
    assert torch.equal(expected, got)
    assert calls == []


def test_fast_decode_does_not_apply_twice():
    transform = T.Compose([T.ToTensor()])
    pipeline, plan = first_rewrite("fast_jpeg_decode", transform)
    assert list(apply_rule(RULE["fast_jpeg_decode"], plan, pipeline)) == []


# -- decode_at_dct_scale -------------------------------------------------------------


@pytest.fixture
def factors(monkeypatch) -> list[int]:
    """The DCT reduction of every JPEG the runtime decodes, in order."""
    seen: list[int] = []
    real = decode_module.decode_jpeg
    monkeypatch.setattr(
        "reorder.runtime.sources.decode_jpeg",
        lambda data, size, factor=1: seen.append(factor) or real(data, size, factor),
    )
    return seen


def _reduced_plan(transform, margin=2.0):
    pipeline, fast = first_rewrite("fast_jpeg_decode", transform)
    plans = [p for p in apply_rule(RULE["decode_at_dct_scale"], fast, pipeline)]
    return pipeline, next(p for p in plans if p.decode.option("min_shrink") == margin)


def test_dct_scale_decodes_big_jpegs_small_and_stays_close(image_dir, factors):
    path = write_image(image_dir, 1600, 1200, "jpg", seed=1)
    transform = T.Compose([T.Resize(150), T.CenterCrop(128), T.ToTensor()])
    pipeline, plan = _reduced_plan(transform)
    expected, got = run_both(transform, plan, pipeline, path)
    assert factors == [4]  # 1200 -> 150 px: 1/4 keeps two source pixels per output pixel
    assert psnr(as_pixels(expected), as_pixels(got)) > 40


@pytest.mark.parametrize("first", ["cv_area", "pil_box"])
def test_dct_scale_keeps_its_margin_on_both_axes(image_dir, factors, first):
    """An aspect-changing resize shrinks one axis less: the decode follows that axis, so
    neither is decoded below twice the output (1281 rows decoded at 1/8 were 161, which
    became 224: 33 dB; at 1/4 they are 321, under 2 x 224)."""
    path = write_image(image_dir, 1920, 1281, "jpg", seed=4)
    transform = T.Compose([T.Resize((224, 224)), T.ToTensor()])
    pipeline, fast = first_rewrite("fast_jpeg_decode", transform)
    if first == "cv_area":
        _, fast = first_rewrite("opencv_kernels", transform, fast)
        _, fast = first_rewrite("area_downscale", transform, fast)
    else:
        _, fast = first_rewrite("crop_before_resize", transform, fast)
    plan = next(
        p
        for p in apply_rule(RULE["decode_at_dct_scale"], fast, pipeline)
        if p.decode.option("min_shrink") == 2.0
    )
    expected, got = run_both(transform, plan, pipeline, path)
    assert factors == [2]  # 1281 rows / 2 = 641 >= 2 x 224; / 4 = 321 is not
    assert psnr(as_pixels(expected), as_pixels(got)) > 38


def test_dct_scale_needs_a_resize_first():
    transform = T.Compose([T.RandomRotation(10), T.Resize(64), T.ToTensor()])
    pipeline, fast = first_rewrite("fast_jpeg_decode", transform)
    assert list(apply_rule(RULE["decode_at_dct_scale"], fast, pipeline)) == []


def test_dct_scale_never_reduces_for_an_upscale_or_a_small_image(image_dir, factors):
    for (w, h), size in [((200, 150), 400), ((120, 100), 8)]:
        path = write_image(image_dir, w, h, "jpg")
        transform = T.Compose([T.Resize(size), T.ToTensor()])
        pipeline, plan = _reduced_plan(transform)
        expected, got = run_both(transform, plan, pipeline, path)
        assert torch.equal(expected, got)
    assert factors == [1, 1]


# -- crop_before_resize --------------------------------------------------------------


def test_crop_before_resize_fuses_resize_and_crop_exactly(image_dir):
    path = write_image(image_dir, 640, 480, "jpg", seed=2)
    transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.RandomHorizontalFlip(0.5)])
    pipeline, plan = first_rewrite("crop_before_resize", transform)
    assert [s.kernel for s in plan.segments[0].stages] == ["pil_box"]
    for seed in range(4):
        expected, got = run_both(transform, plan, pipeline, path, seed)
        diff = np.abs(np.asarray(expected, int) - np.asarray(got, int))
        assert diff.max() <= 1  # float rounding of filter weights only


def test_trap_rounding_the_crop_box_shifts_the_image():
    """Resize-then-crop as one resample needs the float box: rounding it shifts detail at
    pixel scale by a fraction of a pixel, which costs ~30 dB."""
    rng = np.random.default_rng(0)
    detail = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    expected = T.CenterCrop(240)(T.Resize(270)(detail))
    spec = ImageSpec(400, 300)
    ops = [Resize(360, 270), *parse(T.CenterCrop(240)).ops[0].sample(ImageSpec(360, 270))]
    exact = box_resample(detail, ops, spec)
    box = compose_box(ops, spec).source_box()  # (66.67, 16.67, 333.33, 283.33)
    rounded = detail.resize((240, 240), Image.BILINEAR, box=tuple(round(v) for v in box))
    assert psnr(expected, exact) > 55
    assert psnr(expected, rounded) < 30


def test_crop_before_resize_precondition_one_resample_per_box():
    transform = T.Compose([T.Resize(300), T.Resize(200), T.CenterCrop(100)])
    pipeline, plans = rewrites("crop_before_resize", transform)
    for plan in plans:
        for stage in plan.segments[0].stages:
            if stage.kernel == "pil_box":
                assert sum(Trait.RESAMPLE in pipeline.ops[i].traits for i in stage.ops) == 1


def test_crop_before_resize_skips_reflect_padding_and_nearest(image_dir):
    padded = T.Compose([T.RandomCrop(32, padding=4, padding_mode="reflect"), T.Resize(16)])
    for plan in rewrites("crop_before_resize", padded)[1]:
        boxes = [s.ops for s in plan.segments[0].stages if s.kernel == "pil_box"]
        assert all(0 not in ops for ops in boxes)  # reflection is not a box
    box = compose_box([Resize(10, 10, "nearest"), Flip(True)], ImageSpec(30, 30))
    assert box is None  # nearest floors positions: a box offset or mirror moves pixels


# -- opencv_kernels ------------------------------------------------------------------


def test_opencv_upscale_and_rotation_match_pil():
    scene = make_scene(200, 150, seed=5)
    img = Image.fromarray(scene)
    up = Resize(500, 300)
    assert branch_for(up, ImageSpec(200, 150), (OPENCV,)).name == "resize_linear"
    ours = CV.run(scene, [up], ImageSpec(200, 150), 1)
    assert np.abs(ours.astype(int) - np.asarray(apply_reference(img, [up]), int)).max() <= 1
    turn = Rotate(7.5, "nearest")
    ours = CV.run(scene, [turn], ImageSpec(200, 150), 1)
    assert psnr(ours, apply_reference(img, [turn])) > 40


def test_trap_opencv_linear_downscale_has_no_antialiasing():
    """INTER_LINEAR shrinking aliases (~30 dB vs PIL); the cv kernel must not use it."""
    import cv2

    scene = make_scene(900, 600, seed=6)
    down = Resize(180, 120)
    expected = np.asarray(apply_reference(Image.fromarray(scene), [down]))
    aliased = cv2.resize(scene, (180, 120), interpolation=cv2.INTER_LINEAR)
    assert psnr(expected, aliased) < 35
    assert branch_for(down, ImageSpec(900, 600), (OPENCV,)).name == REFERENCE
    assert np.array_equal(CV.run(scene, [down], ImageSpec(900, 600), 1), expected)


def test_opencv_rule_skips_value_ops():
    transform = T.Compose([T.ColorJitter(0.3), T.ToTensor()])
    assert rewrites("opencv_kernels", transform)[1] == []


# -- area_downscale ------------------------------------------------------------------


def test_area_downscale_is_close_and_only_replaces_cv_resamples(image_dir):
    path = write_image(image_dir, 800, 600, "jpg", seed=7)
    transform = T.Compose([T.Resize(200), T.CenterCrop(180)])
    pipeline, with_cv = first_rewrite("opencv_kernels", transform)
    _, plan = first_rewrite("area_downscale", transform, with_cv)
    expected, got = run_both(transform, plan, pipeline, path)
    assert psnr(expected, got) > 38
    assert rewrites("area_downscale", transform)[1] == []  # no cv stage yet


@pytest.mark.parametrize("size", [(384, 512), (512, 384), (500, 375)])
def test_a_shrink_of_at_most_one_and_a_half_is_plain_bilinear_and_close(size, monkeypatch):
    """512 -> 341 is a 1.5x shrink whose output size was rounded down: still mild, so the
    fast bilinear path (OpenCV's pixel-area path is 5x slower at such factors)."""
    import cv2

    modes = []
    resize = cv2.resize

    def recording(arr, dsize, interpolation):
        modes.append(interpolation)
        return resize(arr, dsize, interpolation=interpolation)

    monkeypatch.setattr(geometry_module.cv2, "resize", recording)
    width, height = size
    scene = make_scene(width, height, seed=8)
    short = Resize(
        *(int(256 * width / height), 256) if width > height else (256, int(256 * height / width))
    )
    got = CV_AREA.run(scene, [short], ImageSpec(width, height), 1)
    assert modes == [cv2.INTER_LINEAR]
    assert psnr(got, apply_reference(Image.fromarray(scene), [short])) > 38


@pytest.mark.parametrize(
    "size, min_psnr",
    [((300, 200), 49), ((230, 300), 52), ((400, 130), 49), ((260, 420), 52), ((260, 291), 52.5)],
    ids=["both-axes", "one-axis", "near-3x", "other-axis-enlarged", "other-axis-barely-shrunk"],
)
@pytest.mark.parametrize("kernel", [CV_AREA, CV_BLUR], ids=["cv_area", "cv_blur"])
def test_a_bilinear_shrink_of_up_to_three_is_blurred_then_sampled(size, min_psnr, kernel):
    """A Gaussian of the triangle filter's width, then a plain sample: close to PIL's
    antialiased bilinear. An axis left at its size or enlarged is not blurred (PIL only
    interpolates along it), nor one shrunk by under 1.125x (a blur there overshoots)."""
    scene = make_scene(520, 300, seed=9)
    down, spec = Resize(*size), ImageSpec(520, 300)
    assert kernel.branches([down], spec, spec) == ("resize_blur",)  # not the PIL fallback
    got = kernel.run(scene, [down], spec, 1)
    # OpenCV's pixel-area average reaches 46-47 dB here, plain bilinear 38-40.
    assert psnr(got, apply_reference(Image.fromarray(scene), [down])) > min_psnr


# -- rotate_in_smaller_frame ---------------------------------------------------------


def test_trap_anisotropic_resize_does_not_commute_with_rotation():
    """Resize((1024, 1024)) of 384x512 then rotate: rotating by the same angle in the
    source frame is ~22 dB off; the conjugate affine S^-1 R S is close."""
    scene = make_scene(384, 512, seed=8)
    spec = ImageSpec(384, 512)
    ops = [Resize(1024, 1024), Rotate(6.0, "bilinear")]
    expected = np.asarray(apply_reference(Image.fromarray(scene), ops))
    ours = warp_in_smaller_frame(scene, ops, spec)
    naive = CV.run(CV.run(scene, [ops[1]], spec, 1), [ops[0]], spec, 1)
    assert psnr(expected, ours) > 34
    assert psnr(expected, naive) < 26


def test_rotation_moves_to_the_smaller_end_both_ways():
    spec = ImageSpec(300, 200)
    scene = make_scene(300, 200, seed=9)
    turn = Rotate(-5.0, "bilinear")
    for ops in ([turn, Resize(120, 100)], [Resize(900, 700), turn]):
        expected = np.asarray(apply_reference(Image.fromarray(scene), ops))
        assert psnr(expected, warp_in_smaller_frame(scene, ops, spec)) > 30


@pytest.mark.parametrize("angle, rotate_first", [(-8.0, True), (5.0, True), (5.0, False)])
def test_a_shrink_next_to_a_rotation_decodes_at_dct_scale_in_the_smaller_frame(
    image_dir, factors, angle, rotate_first
):
    """The warp kernel resizes first either way, so it reads no source coordinates: the
    JPEG may be decoded smaller."""
    path = write_image(image_dir, 1600, 1200, "jpg", seed=13)
    ops = [T.RandomRotation((angle, angle), T.InterpolationMode.BILINEAR), T.Resize((300, 400))]
    transform = T.Compose(ops if rotate_first else ops[::-1])
    pipeline, fast = first_rewrite("fast_jpeg_decode", transform)
    _, warped = first_rewrite("rotate_in_smaller_frame", transform, fast)
    reduced = next(apply_rule(RULE["decode_at_dct_scale"], warped, pipeline))
    expected, got = run_both(transform, reduced, pipeline, path)
    assert factors == [2]  # 1600x1200 -> 400x300: 1/2 keeps two source pixels per output
    _, full_size = run_both(transform, warped, pipeline, path)
    # Decoding smaller costs little: about what the warp in the smaller frame costs already.
    assert psnr(expected, got) > min(psnr(expected, full_size) - 1.0, 40)


def test_rotate_in_smaller_frame_precondition():
    transform = T.Compose([T.RandomRotation(5), T.ColorJitter(0.2), T.Resize(64)])
    assert rewrites("rotate_in_smaller_frame", transform)[1] == []
    transform = T.Compose([T.Resize(64), T.RandomRotation(5)])
    _, plans = rewrites("rotate_in_smaller_frame", transform)
    assert [s.kernel for s in plans[0].segments[0].stages] == ["cv_warp_small"]


def test_rotation_matrix_is_pils():
    img = Image.fromarray(make_scene(60, 40, seed=10))
    op = Rotate(33.0, "nearest", expand=True)
    m = rotation_matrix(op, 60, 40)
    expected = img.transform(
        op.output_spec(ImageSpec(60, 40)).size, Image.Transform.AFFINE, tuple(m[:2].ravel())
    )
    assert np.array_equal(np.asarray(expected), np.asarray(img.rotate(33.0, expand=True)))


# -- fused_to_float ------------------------------------------------------------------


def test_fused_to_float_is_bit_identical(image_dir):
    path = write_image(image_dir, 257, 199, "jpg", seed=11)
    transform = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])
    pipeline, plan = first_rewrite("fused_to_float", transform)
    assert [s.kernel for s in plan.segments[0].stages] == ["lut_to_float"]
    expected, got = run_both(transform, plan, pipeline, path)
    assert torch.equal(expected, got)


def test_fused_to_float_leaves_broadcasting_normalize_to_torchvision(image_dir):
    """Grayscale(1) then a 3-channel Normalize: torchvision raises; so must the plan."""
    path = write_image(image_dir, 40, 30, "jpg")
    transform = T.Compose([T.Grayscale(1), T.ToTensor(), T.Normalize(MEAN, STD)])
    pipeline, plan = first_rewrite("fused_to_float", transform)
    with pytest.raises(RuntimeError):
        transform(Image.open(path).convert("RGB"))
    with pytest.raises(RuntimeError):
        PlanTransform(pipeline, plan)(LazyImage(path))


def test_fused_lookup_covers_every_per_value_chain_from_pil(image_dir):
    path = write_image(image_dir, 64, 48, "jpg-l", seed=13)
    chains = [
        T.Compose([T.PILToTensor(), T.ConvertImageDtype(torch.float32), T.Normalize([0.5], [0.2])]),
        v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(MEAN, STD)]),
    ]
    for transform in chains:
        pipeline, plan = first_rewrite("fused_to_float", transform)
        assert [s.kernel for s in plan.segments[0].stages] == ["lut_to_float"]
        expected, got = run_both(transform, plan, pipeline, path)
        assert type(got) is type(expected) and torch.equal(expected, got)


def test_fused_lookup_needs_a_pil_to_tensor_step():
    assert rewrites("fused_to_float", T.Compose([T.Resize(10), T.Normalize([0.5], [0.2])]))[1] == []


# -- pointwise_after_resize ----------------------------------------------------------


def test_colour_op_moves_after_a_shrink_and_stays_close(image_dir):
    path = write_image(image_dir, 640, 480, "jpg", seed=12)
    transform = T.Compose([T.ColorJitter(0.4, 0, 0.4, 0.1), T.Resize(128)])
    pipeline, plan = first_rewrite("pointwise_after_resize", transform)
    assert [pipeline.ops[s.ops[0]].name for s in plan.segments[0].stages] == [
        "Resize",
        "ColorJitter",
    ]
    for seed in range(3):
        expected, got = run_both(transform, plan, pipeline, path, seed)
        assert psnr(expected, got) > 35


def test_contrast_never_moves_across_a_crop():
    """Contrast blends with the mean of the whole image it receives: after a crop that
    mean differs (28 dB on a 257x129 photo), so it is not pointwise; a whole-image resize
    keeps the mean, and contrast may cross that alone."""
    for geometry in (T.RandomResizedCrop(64), T.CenterCrop(100), T.RandomCrop(50)):
        for jitter in (T.ColorJitter(contrast=0.4), T.ColorJitter(0.4, 0.4, 0.4, 0.1)):
            transform = T.Compose([jitter, geometry])
            assert rewrites("pointwise_after_resize", transform)[1] == []
    # Without contrast the jitter is pointwise: it moves past the crop-and-resize.
    transform = T.Compose([T.ColorJitter(0.4, 0, 0.4, 0.1), T.RandomResizedCrop(64)])
    assert rewrites("pointwise_after_resize", transform)[1] != []
    transform = T.Compose([T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.Resize(128)])
    assert rewrites("pointwise_after_resize", transform)[1] != []


def test_colour_op_never_moves_past_fill():
    """Rotation corners and padding are fill: jittering them changes their colour."""
    for geometry in (T.RandomRotation(10), T.CenterCrop(100), T.Pad(4)):
        transform = T.Compose([T.ColorJitter(0.4), geometry])
        assert rewrites("pointwise_after_resize", transform)[1] == []


def test_area_downscale_never_shrinks_fill():
    """A crop past the edge or padding makes hard edges: no pixel-area shortcut after it."""
    for fills in (T.CenterCrop(300), T.Pad(4)):
        transform = T.Compose([fills, T.Resize(64)])
        pipeline, with_cv = first_rewrite("opencv_kernels", transform)
        assert rewrites("area_downscale", transform, with_cv)[1] == []


# -- blur_downscale ---------------------------------------------------------------------


def test_blur_downscale_shrinks_a_rotated_image_closely_and_only_after_fill(image_dir):
    """rotate -> resize: the rotation's corners rule out the pixel-area shortcut, but the
    blur treats their edges as PIL's filter does."""
    path = write_image(image_dir, 640, 480, "jpg", seed=3)
    transform = T.Compose([T.RandomRotation(20), T.Resize((300, 260))])
    pipeline, with_cv = first_rewrite("opencv_kernels", transform)
    assert rewrites("area_downscale", transform, with_cv)[1] == []
    _, plan = first_rewrite("blur_downscale", transform, with_cv)
    assert [stage.kernel for stage in plan.segments[0].stages] == ["cv", "cv_blur"]
    for seed in range(3):
        expected, got = run_both(transform, plan, pipeline, path, seed)
        assert psnr(expected, got) > 45
    unfilled = T.Compose([T.Resize((300, 260)), T.RandomRotation(20)])
    _, with_cv = first_rewrite("opencv_kernels", unfilled)
    assert rewrites("blur_downscale", unfilled, with_cv)[1] == []


# -- torch_resample ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "transform",
    [
        T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip()]),
        T.Compose([T.RandomRotation(20), T.Resize((300, 260), T.InterpolationMode.BICUBIC)]),
        T.Compose([T.Resize(900)]),  # an enlargement
    ],
    ids=["train", "rotate-bicubic", "enlarge"],
)
def test_torch_resample_is_pils_filter_within_rounding(image_dir, transform):
    """PyTorch's port of PIL's filter: close at any shrink, after fill or not."""
    path = write_image(image_dir, 640, 480, "jpg", seed=5)
    pipeline, with_cv = first_rewrite("opencv_kernels", transform)
    _, plan = first_rewrite("torch_resample", transform, with_cv)
    assert "cv_torch" in [stage.kernel for stage in plan.segments[0].stages]
    for seed in range(3):
        expected, got = run_both(transform, plan, pipeline, path, seed)
        assert psnr(expected, got) > 55


def test_torch_resample_leaves_filters_it_does_not_port():
    for mode in (T.InterpolationMode.NEAREST, T.InterpolationMode.LANCZOS):
        transform = T.Compose([T.Resize(100, mode), T.RandomHorizontalFlip()])
        _, with_cv = first_rewrite("opencv_kernels", transform)
        assert rewrites("torch_resample", transform, with_cv)[1] == []


# -- color_on_arrays -------------------------------------------------------------------

# (order, brightness, contrast, saturation, hue): single adjustments, extrapolating
# factors (> 1: Pillow's clipping branch) and all four in a drawn order.
JITTERS = [
    ((0, 1, 2, 3), 1.6, None, None, None),
    ((0, 1, 2, 3), None, 0.45, None, None),
    ((0, 1, 2, 3), None, 1.7, None, None),
    ((0, 1, 2, 3), None, None, 0.2, None),
    ((0, 1, 2, 3), None, None, 1.9, None),
    ((3, 1, 0, 2), 0.7, 1.3, 0.6, None),
    ((0, 1, 2, 3), None, None, None, 0.0),
    ((0, 1, 2, 3), None, None, None, -0.37),
    ((2, 3, 0, 1), 1.2, 0.8, 1.4, 0.08),
]


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("jitter", JITTERS, ids=str)
def test_colour_kernel_computes_what_pillow_computes(mode, jitter):
    """Brightness, contrast and saturation are Pillow's blends to the byte; hue (Pillow's
    8-bit HSV redone on OpenCV's float HSV) differs at a few pixels per thousand."""

    op = ColorAdjust(*jitter)
    for seed in range(3):
        img = Image.fromarray(make_scene(173, 129, seed=seed)).convert(mode)
        expected = np.asarray(apply_reference(img, [op]), int)
        got = colour.color_adjust(np.asarray(img), op)
        assert got.shape == expected.shape and got.dtype == np.uint8
        diff = np.abs(got.astype(int) - expected)
        if op.hue is None or mode == "L":
            assert diff.max() == 0
        else:
            assert (diff > 0).mean() < 0.005 and diff.max() <= 12


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("channels", [1, 3])
def test_colour_kernel_grayscale_is_pillows_luma(mode, channels):

    img = Image.fromarray(make_scene(90, 61, seed=4)).convert(mode)
    expected = np.asarray(apply_reference(img, [Gray(channels)]))
    assert np.array_equal(colour.gray(np.asarray(img), Gray(channels)), expected)


def test_colour_on_arrays_takes_colour_stages_only_and_stays_close(image_dir):
    path = write_image(image_dir, 320, 240, "jpg", seed=21)
    transform = T.Compose(
        [T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomGrayscale(0.5), T.Resize(100), T.ToTensor()]
    )
    pipeline, plan = first_rewrite("color_on_arrays", transform)
    assert [s.kernel for s in plan.segments[0].stages] == [
        "cv_color",
        "cv_color",
        "reference",
        "reference",
    ]
    for seed in range(6):
        expected, got = run_both(transform, plan, pipeline, path, seed)
        assert psnr(as_pixels(expected), as_pixels(got)) > 50


def test_colour_on_arrays_leaves_tensor_pipelines_alone():
    transform = v2.Compose([v2.ColorJitter(0.4, 0.4, 0.4, 0.1), v2.Resize(100)])
    pipeline = parse(transform, loader="torchvision.io")
    assert list(apply_rule(RULE["color_on_arrays"], as_written(pipeline), pipeline)) == []


# -- the engine ------------------------------------------------------------------------


def test_a_new_rule_is_a_row_the_search_applies_without_change():
    """A rule added to a table (here: flips to OpenCV, each plan one flip) is found by the
    same search, through the one engine."""
    from reorder.ir import Trait
    from reorder.rules import Rule, Stages
    from reorder.rules.engine import fuse_into
    from reorder.search import enumerate_plans

    flips_to_cv = Rule(
        "flips_to_cv",
        exact=True,
        why="a flip is the same permutation of pixels in OpenCV and in PIL, by definition",
        match=((Stages(("reference",), every=Trait.AXIS_ALIGNED, none=Trait.RESAMPLE),),),
        rewrite=fuse_into("cv"),
    )
    transform = T.Compose([T.RandomHorizontalFlip(), T.Resize(32), T.RandomVerticalFlip()])
    plans = enumerate_plans(parse(transform), (flips_to_cv,))
    kernels = {tuple(s.kernel for s in p.segments[0].stages) for p in plans}
    assert kernels == {
        ("reference", "reference", "reference"),
        ("cv", "reference", "reference"),
        ("reference", "reference", "cv"),
        ("cv", "reference", "cv"),
    }


def test_the_engine_matches_the_longest_window_and_resumes_after_it():
    """crop_before_resize takes the longest run of axis-aligned stages with one resample
    (crop, resize, flip) and starts the next at its end (resize, crop)."""
    transform = T.Compose(
        [T.CenterCrop(60), T.Resize(40), T.RandomHorizontalFlip(), T.Resize(30), T.CenterCrop(20)]
    )
    _, plans = rewrites("crop_before_resize", transform)
    windows = {tuple(s.ops for s in p.segments[0].stages if s.kernel == "pil_box") for p in plans}
    assert windows == {((0, 1, 2),), ((3, 4),)}


def test_a_v2_container_of_geometry_stays_put_as_plan_files_expect():
    """A RandomChoice of resizes keeps its reference stage while the crop after it runs
    in OpenCV: plans saved before the re-cut hold that stage, and must still load."""
    from torchvision.transforms import v2

    transform = v2.Compose(
        [v2.RandomChoice([v2.Resize(60), v2.Resize((40, 80))]), v2.CenterCrop(36)]
    )
    pipeline = parse(transform)
    names = [op.name for op in pipeline.ops]
    described = {p.describe(names, with_decode=False) for p in enumerate_plans(pipeline)}
    assert "reference(RandomChoice) -> cv(CenterCrop)" in described
    assert not any("cv(RandomChoice)" in d for d in described)
