"""Bad and unusual input (issue 2, "Bad input"): the plan does what the original did.

For every file below, and for every pipeline and plan, `plan(path)` and
`plan.transform(plan.loader(path))` either give the original's result within the plan's
tolerance, under the same seed and with every RNG stream in the same state afterwards, or
raise an exception of exactly the original's class, with the file's path in its message.
Nothing is silently different: not the decoder, not the colour conversion, not the
orientation, not the size a random crop is drawn from.

Three plans per pipeline: the one `reorder.optimize` chose (timing decides which), and
two fixed candidates from the search, so that the decode and kernel paths under test do
not depend on timing noise: the most rewritten candidate built from exact rules only
(held to "exact") and the most rewritten candidate of all (held to "close").
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile
from torchvision import transforms as T

import reorder
from conftest import MEAN, STD, build_png, png_chunks, write_image
from reorder.frontends import parse
from reorder.measure.verify import Outcome, compare, output_units
from reorder.ops.decode import pil_rgb_loader
from reorder.plan import Plan, Report
from reorder.rng import rng_state, seed_all
from reorder.rules import EXACT_RULE_NAMES as EXACT_RULES
from reorder.samples import make_scene
from reorder.search import enumerate_plans

SEEDS = (0, 1)


def pipelines() -> dict[str, T.Compose]:
    return {
        # ImageNet-style eval: every rule applies (DCT-scale decode, crop before resize,
        # OpenCV kernels, fused normalize).
        "eval": T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)]),
        # Train: the crop is drawn from the input's size, so a decoder that rotates or
        # rescales the image changes the random decisions.
        "train": T.Compose(
            [
                T.RandomResizedCrop(48),
                T.RandomHorizontalFlip(),
                T.ToTensor(),
                T.Normalize(MEAN, STD),
            ]
        ),
        # The output keeps the input's aspect ratio: a rotated decode changes its shape.
        "keep": T.Compose([T.Resize(40), T.ToTensor()]),
        # A draw, then a crop that raises ValueError on an image smaller than 56 px.
        "randomcrop": T.Compose([T.RandomHorizontalFlip(), T.RandomCrop(56), T.ToTensor()]),
        # CenterCrop pads an image smaller than the crop.
        "centercrop": T.Compose([T.CenterCrop(56), T.PILToTensor()]),
    }


@dataclass(frozen=True)
class Variant:
    label: str
    plan: Plan
    tolerance: str


def _fixed(pipeline, physical, tolerance) -> Plan:
    report = Report(tolerance, None, 0, 0, (), None, "fixed candidate for a test", 0.0)
    return Plan(pipeline, physical, report)


def _variants(transform, samples) -> list[Variant]:
    chosen = reorder.optimize(
        transform, samples, tolerance="close", seeds=1, repeats=1, progress=False
    )
    pipeline = parse(transform)
    candidates = enumerate_plans(pipeline)
    exact = [p for p in candidates if set(p.rules) <= EXACT_RULES and p.rules]
    most_exact = max(exact, key=lambda p: len(p.rules))
    most = max(candidates, key=lambda p: len(p.rules))
    assert "fast_jpeg_decode" in most_exact.rules and "fast_jpeg_decode" in most.rules
    return [
        Variant("optimized", chosen, "close"),
        Variant("exact-rules", _fixed(pipeline, most_exact, "exact"), "exact"),
        Variant("all-rules", _fixed(pipeline, most, "close"), "close"),
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bad_input")


@pytest.fixture(scope="module")
def plans(folder) -> dict[str, list[Variant]]:
    samples = [
        write_image(folder, 320, 240, "jpg", seed=0, name="sample_a"),
        write_image(folder, 240, 320, "jpg", seed=1, name="sample_b"),
    ]
    return {name: _variants(transform, samples) for name, transform in pipelines().items()}


# -- the files -------------------------------------------------------------------------


def _jpeg_bytes(folder: Path, **save) -> bytes:
    return Path(write_image(folder, 320, 240, "jpg", seed=5, name="source", **save)).read_bytes()


def _write(folder: Path, name: str, data: bytes) -> str:
    path = folder / name
    path.write_bytes(data)
    return str(path)


def _directory(folder: Path, name: str) -> str:
    (folder / name).mkdir(exist_ok=True)
    return str(folder / name)


def _exif_rotated(folder: Path) -> str:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display; PIL's loader does not
    return write_image(
        folder, 320, 240, "jpg", seed=6, name="exif_orientation_6", exif=exif.tobytes()
    )


def _sof_height(folder: Path, height: int) -> str:
    data = bytearray(_jpeg_bytes(folder))
    sof = data.index(b"\xff\xc0")
    assert int.from_bytes(data[sof + 5 : sof + 7], "big") == 240
    data[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    return _write(folder, f"sof_height_{height}.jpg", bytes(data))


def _bit_flips(folder: Path) -> str:
    data = bytearray(_jpeg_bytes(folder))
    start = data.index(b"\xff\xda") + 20  # inside the entropy-coded scan
    for i in range(start + 200, len(data) - 200, 97):
        data[i] ^= 0x5A
    return _write(folder, "scan_bit_flips.jpg", bytes(data))


def _png_bytes(folder: Path) -> bytes:
    return Path(write_image(folder, 150, 110, "png", seed=9, name="png_source")).read_bytes()


def _png_variant(folder: Path, name: str, edit: Callable[[list], list]) -> str:
    """The source PNG with its chunk list edited and every CRC recomputed: damage past
    the CRC checks, or chunks the decoders read but do not draw."""
    return _write(folder, name, build_png(edit(png_chunks(_png_bytes(folder)))))


def _edit_idat(chunks: list, edit: Callable[[bytes], bytes]) -> list:
    return [(kind, edit(body) if kind == b"IDAT" else body) for kind, body in chunks]


def _flip_every(body: bytes, step: int) -> bytes:
    flipped = bytearray(body)
    for i in range(20, len(flipped), step):
        flipped[i] ^= 0x5A
    return bytes(flipped)


def _with_chunks(chunks: list, *extra: tuple[bytes, bytes]) -> list:
    return chunks[:1] + list(extra) + chunks[1:]


def _split_idat(chunks: list) -> list:
    (data,) = [body for kind, body in chunks if kind == b"IDAT"]
    third = len(data) // 3
    pieces = [data[:third], data[third : 2 * third], data[2 * third :]]
    return chunks[:1] + [(b"IDAT", piece) for piece in pieces] + chunks[-1:]


_TEXT = (b"tEXt", b"Software\x00reorder tests")
_GAMMA = (b"gAMA", (45455).to_bytes(4, "big"))
_PHYS = (b"pHYs", (2835).to_bytes(4, "big") * 2 + b"\x01")

# Files that decode to blocky garbage (damage) or hard black-and-white edges (1-bit)
# rather than a photograph-like scene.
NOT_SCENES = {
    "corrupt_sof_marker",
    "scan_bit_flips",
    "sof_height_larger",
    "sof_height_smaller",
    "png_bilevel",
    "png_idat_bit_flips_valid_crc",
}

FILES: dict[str, Callable[[Path], str]] = {
    # not an image at all, or not there
    "zero_bytes": lambda d: _write(d, "zero_bytes.jpg", b""),
    "text_named_jpg": lambda d: _write(d, "notes.jpg", b"this is not an image\n" * 20),
    "missing": lambda d: str(d / "no_such_file.jpg"),
    "directory": lambda d: _directory(d, "a_directory.jpg"),
    # damaged JPEGs
    "truncated_half": lambda d: _write(
        d, "truncated_half.jpg", (b := _jpeg_bytes(d))[: len(b) // 2]
    ),
    "truncated_no_eoi": lambda d: _write(d, "truncated_no_eoi.jpg", _jpeg_bytes(d)[:-2]),
    "truncated_header_only": lambda d: _write(d, "header_only.jpg", _jpeg_bytes(d)[:200]),
    "truncated_progressive": lambda d: _write(
        d, "truncated_progressive.jpg", (b := _jpeg_bytes(d, progressive=True))[: len(b) // 2]
    ),
    "corrupt_header_zeroed": lambda d: _write(
        d, "corrupt_header.jpg", (b := _jpeg_bytes(d))[:4] + bytes(40) + b[44:]
    ),
    "corrupt_garbage_after_soi": lambda d: _write(
        d, "garbage.jpg", b"\xff\xd8\xff" + bytes(range(256)) * 4
    ),
    "corrupt_sof_marker": lambda d: _write(
        d, "sof9.jpg", _jpeg_bytes(d).replace(b"\xff\xc0", b"\xff\xc9", 1)
    ),
    "sof_height_larger": lambda d: _sof_height(d, 480),
    "sof_height_smaller": lambda d: _sof_height(d, 120),
    "scan_bit_flips": _bit_flips,
    "trailing_garbage": lambda d: _write(d, "trailing.jpg", _jpeg_bytes(d) + b"\x00garbage" * 50),
    # small images: RandomCrop raises, CenterCrop pads, DCT scaling has no room
    "smaller_than_crop": lambda d: write_image(d, 40, 30, "jpg", seed=7, name="small_40x30"),
    "tiny_1x1": lambda d: write_image(d, 1, 1, "jpg", seed=7, name="tiny_1x1"),
    "thin_300x9": lambda d: write_image(d, 300, 9, "jpg", seed=7, name="thin_300x9"),
    # JPEG flavours
    "jpeg_gray": lambda d: write_image(d, 320, 240, "jpg-l", seed=8),
    "jpeg_cmyk": lambda d: write_image(d, 320, 240, "jpg-cmyk", seed=8),
    "jpeg_progressive": lambda d: write_image(
        d, 320, 240, "jpg", seed=8, name="progressive", progressive=True
    ),
    "jpeg_exif_orientation": _exif_rotated,
    "jpeg_444": lambda d: write_image(d, 320, 240, "jpg", seed=8, name="sub444", subsampling=0),
    "jpeg_422": lambda d: write_image(d, 320, 240, "jpg", seed=8, name="sub422", subsampling=1),
    "jpeg_rgb_colorspace": lambda d: write_image(
        d, 320, 240, "jpg", seed=8, name="keep_rgb", keep_rgb=True
    ),
    "jpeg_odd_size": lambda d: write_image(d, 301, 203, "jpg", seed=8),
    "jpeg_named_png": lambda d: _write(d, "really_a_jpeg.png", _jpeg_bytes(d)),
    # other formats and modes: Pillow decodes them, as in the original
    "png_rgb": lambda d: write_image(d, 150, 110, "png", seed=9),
    "png_rgba": lambda d: write_image(d, 150, 110, "png-rgba", seed=9),
    "png_palette": lambda d: write_image(d, 150, 110, "png-p", seed=9),
    "png_gray": lambda d: write_image(d, 150, 110, "png-l", seed=9),
    "png_gray_alpha": lambda d: write_image(d, 150, 110, "png-la", seed=9),
    "png_bilevel": lambda d: write_image(d, 150, 110, "png-1", seed=9),
    "png_16bit": lambda d: write_image(d, 150, 110, "png-i16", seed=9),
    "png_with_text_and_gamma": lambda d: _png_variant(
        d, "text_gamma.png", lambda c: _with_chunks(c, _TEXT, _GAMMA, _PHYS)
    ),
    "png_split_idat": lambda d: _png_variant(d, "split_idat.png", _split_idat),
    "png_compressed_text": lambda d: _png_variant(
        d,
        "ztxt.png",
        lambda c: _with_chunks(c, (b"zTXt", b"Comment\x00\x00" + zlib.compress(b"hi"))),
    ),
    "png_trailing_garbage": lambda d: _write(d, "png_trailing.png", _png_bytes(d) + b"garbage"),
    "png_truncated": lambda d: _write(d, "png_truncated.png", _png_bytes(d)[:-3000]),
    # Structurally valid (CRCs recomputed) but the image data is damaged or short.
    "png_idat_bit_flips_valid_crc": lambda d: _png_variant(
        d, "idat_flips.png", lambda c: _edit_idat(c, lambda b: _flip_every(b, 997))
    ),
    "png_short_idat_valid_crc": lambda d: _png_variant(
        d, "short_idat.png", lambda c: _edit_idat(c, lambda b: b[: len(b) // 2])
    ),
    "png_named_jpg": lambda d: _write(
        d, "really_a_png.jpg", Path(write_image(d, 150, 110, "png", seed=10)).read_bytes()
    ),
    "bmp": lambda d: write_image(d, 150, 110, "bmp", seed=9),
    "gif": lambda d: write_image(d, 150, 110, "gif", seed=9),
    "webp": lambda d: write_image(d, 150, 110, "webp", seed=9),
    "tiff": lambda d: write_image(d, 150, 110, "tif", seed=9),
    "tiff_cmyk": lambda d: write_image(d, 150, 110, "tif-cmyk", seed=9),
}


# -- running both ----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    outcome: Outcome
    exception: BaseException | None


def run_seeded(fn: Callable[[Any], Any], argument: Any, seed: int) -> Run:
    seed_all(seed)
    try:
        output, exception = fn(argument), None
    except Exception as exc:
        output, exception = None, exc
    return Run(Outcome(output, type(exception) if exception else None, rng_state()), exception)


def original_runs(transform, path: str) -> list[Run]:
    return [run_seeded(lambda p: transform(pil_rgb_loader(p)), path, s) for s in SEEDS]


def plan_calls(plan: Plan) -> dict[str, Callable[[str], Any]]:
    return {
        "plan(path)": plan,
        "plan.transform(plan.loader(path))": lambda p: plan.transform(plan.loader(p)),
        "plan.transform(LazyImage(Path))": lambda p: plan.transform(reorder.LazyImage(Path(p))),
    }


def assert_same_as_original(
    variant: Variant, transform, path: str, scene: bool = True
) -> list[Run]:
    """Every way of calling the plan on `path` does what the original did.

    `scene=False`: the file decodes to blocky garbage or 1-bit black and white, not a
    photograph-like scene. The
    approximate rewrites are verified on the user's photographs, not on such content, so
    there only the exact-rules plan is held to its values; every plan is still held to
    the same outcome (class, shape, dtype, exception) and the same RNG state.
    """
    expected = original_runs(transform, path)
    units = output_units(variant.plan.pipeline)
    for how, call in plan_calls(variant.plan).items():
        got = [run_seeded(call, path, s) for s in SEEDS]
        verdict = compare([r.outcome for r in expected], [r.outcome for r in got], units)
        where = f"{variant.label} plan, {how}, {Path(path).name}: {verdict}"
        assert verdict.problem is None, where
        if scene or variant.tolerance == "exact":
            assert verdict.within(variant.tolerance), where
        for run in got:
            if run.exception is not None:
                name = type(run.exception).__name__
                assert path in str(run.exception), f"{where}: {name} does not name the file"
    return expected


# -- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("pipeline", list(pipelines()))
@pytest.mark.parametrize("case", list(FILES))
def test_plan_does_what_the_original_did(folder, plans, case, pipeline):
    path = FILES[case](folder)
    transform = plans[pipeline][0].plan.pipeline.original
    scene = case not in NOT_SCENES
    for variant in plans[pipeline]:
        expected = assert_same_as_original(variant, transform, path, scene)
    # The PIL image the loader gives, handed to plan.transform directly, too.
    try:
        image = pil_rgb_loader(path)
    except Exception:
        return
    for variant in plans[pipeline]:
        got = [run_seeded(variant.plan.transform, image, s) for s in SEEDS]
        verdict = compare(
            [r.outcome for r in expected],
            [r.outcome for r in got],
            output_units(variant.plan.pipeline),
        )
        assert verdict.problem is None, (variant.label, verdict)
        if scene or variant.tolerance == "exact":
            assert verdict.within(variant.tolerance), (variant.label, verdict)


def test_the_cases_exercise_what_they_claim(folder):
    """Guards the fixtures: each damaged file fails in Pillow, each odd file opens as meant."""
    failing = {
        "zero_bytes": Image.UnidentifiedImageError,
        "text_named_jpg": Image.UnidentifiedImageError,
        "missing": FileNotFoundError,
        "directory": IsADirectoryError,
        "truncated_half": OSError,
        "truncated_progressive": OSError,
        "corrupt_header_zeroed": OSError,
        "corrupt_garbage_after_soi": Image.UnidentifiedImageError,
    }
    for case, error in failing.items():
        with pytest.raises(error):
            pil_rgb_loader(FILES[case](folder))
    modes = {
        "jpeg_gray": "L",
        "jpeg_cmyk": "CMYK",
        "jpeg_rgb_colorspace": "RGB",
        "png_rgba": "RGBA",
        "png_palette": "P",
        "png_gray": "L",
        "png_gray_alpha": "LA",
        "png_bilevel": "1",
        "gif": "P",
    }
    for case, mode in modes.items():
        with Image.open(FILES[case](folder)) as img:
            assert img.mode == mode, case
    with Image.open(FILES["png_16bit"](folder)) as img:
        assert img.mode.startswith("I"), img.mode
    with Image.open(FILES["jpeg_progressive"](folder)) as img:
        assert img.info.get("progressive") or img.info.get("progression")
    with Image.open(FILES["jpeg_exif_orientation"](folder)) as img:
        assert img.getexif()[0x0112] == 6


def test_exif_orientation_is_not_applied_by_either_path(folder, plans):
    """PIL's loader ignores EXIF orientation; so must every plan (cv2.imread would not)."""
    path = _exif_rotated(folder)
    for variant in plans["keep"]:
        torch.manual_seed(0)
        out = variant.plan(path)
        assert out.shape == (3, 40, 53), (variant.label, out.shape)  # stored 320x240, landscape
        assert_same_as_original(variant, variant.plan.pipeline.original, path)


def test_smaller_than_the_crop_raises_like_the_original(folder, plans):
    path = FILES["smaller_than_crop"](folder)
    transform = plans["randomcrop"][0].plan.pipeline.original
    with pytest.raises(ValueError):
        transform(pil_rgb_loader(path))
    for variant in plans["randomcrop"]:
        seed_all(3)
        with pytest.raises(ValueError) as info:
            variant.plan(path)
        assert type(info.value) is ValueError
        assert path in str(info.value)


DECODES_WHEN_TRUNCATED = (
    "truncated_half",
    "truncated_progressive",
    "png_truncated",
    "png_short_idat_valid_crc",
)


@pytest.mark.parametrize(
    "case",
    [
        "truncated_half",
        "truncated_no_eoi",
        "truncated_progressive",
        "scan_bit_flips",
        "png_truncated",
        "png_short_idat_valid_crc",
    ],
)
@pytest.mark.parametrize("pipeline", ["eval", "train", "keep"])
def test_load_truncated_images_is_honoured(folder, plans, case, pipeline):
    """With PIL.ImageFile.LOAD_TRUNCATED_IMAGES the original decodes what it has (and fills
    the rest): the plan must return that image too, not an error and not other pixels."""
    path = FILES[case](folder)
    transform = plans[pipeline][0].plan.pipeline.original
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        if case in DECODES_WHEN_TRUNCATED:
            torch.manual_seed(0)
            assert isinstance(transform(pil_rgb_loader(path)), torch.Tensor)  # it decodes now
        for variant in plans[pipeline]:
            assert_same_as_original(variant, transform, path, case not in NOT_SCENES)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved
    # ...and the setting is read per call, not remembered: off again, the original raises.
    if case in DECODES_WHEN_TRUNCATED:
        for variant in plans[pipeline]:
            assert_same_as_original(variant, transform, path)
            with pytest.raises(OSError):
                variant.plan(path)


@pytest.mark.parametrize("fmt", ["jpg", "png"])
@pytest.mark.parametrize("pipeline", ["eval", "keep"])
def test_max_image_pixels_is_honoured(folder, plans, pipeline, fmt, monkeypatch):
    """Pillow refuses a file with more than 2 x MAX_IMAGE_PIXELS pixels (a decompression
    bomb) with DecompressionBombError; a plan must not decode it behind Pillow's back."""
    path = write_image(folder, 320, 240, fmt, seed=11, name="bomb")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 320 * 240 // 3)
    transform = plans[pipeline][0].plan.pipeline.original
    with pytest.raises(Image.DecompressionBombError):
        transform(pil_rgb_loader(path))
    for variant in plans[pipeline]:
        assert_same_as_original(variant, transform, path)


def _pil_inputs() -> dict[str, Image.Image]:
    base = Image.fromarray(make_scene(130, 90, seed=12))
    return {
        "RGB": base,
        "L": base.convert("L"),
        "LA": base.convert("LA"),
        "RGBA": base.convert("RGBA"),
        "P": base.convert("P", palette=Image.Palette.ADAPTIVE),
        "1": base.convert("1"),
        "CMYK": base.convert("CMYK"),
        "I": base.convert("I"),
        "F": base.convert("F"),
        "small RGB": base.resize((30, 20)),
    }


def assert_transform_like_original(variants, transform, value, label: str) -> None:
    """`plan.transform(value)` does what `transform(value)` does, for every plan variant."""
    copy = value.copy if hasattr(value, "copy") else lambda: value
    expected = [run_seeded(transform, copy(), s) for s in SEEDS]
    for variant in variants:
        got = [run_seeded(variant.plan.transform, copy(), s) for s in SEEDS]
        verdict = compare(
            [r.outcome for r in expected],
            [r.outcome for r in got],
            output_units(variant.plan.pipeline),
        )
        assert verdict.problem is None, (label, variant.label, verdict)
        assert verdict.within(variant.tolerance), (label, variant.label, verdict)


@pytest.mark.parametrize("pipeline", list(pipelines()))
def test_transform_on_pil_images_of_every_mode(plans, pipeline):
    """`plan.transform(image)` gives what `original(image)` gives, or raises its class."""
    transform = plans[pipeline][0].plan.pipeline.original
    for mode, image in _pil_inputs().items():
        assert_transform_like_original(plans[pipeline], transform, image, mode)


@pytest.mark.parametrize("pipeline", list(pipelines()))
def test_transform_on_inputs_the_original_rejects(plans, pipeline):
    """A v1 pipeline of PIL ops rejects arrays (TypeError), None and strings: so must the
    plan, with the same exception class, rather than compute something the original never
    would."""
    transform = plans[pipeline][0].plan.pipeline.original
    inputs = {
        "HWC uint8 array": np.zeros((90, 130, 3), np.uint8),
        "HW uint8 array": np.zeros((90, 130), np.uint8),
        "HWC float array": np.zeros((90, 130, 3), np.float32),
        "None": None,
        "a path string": "image.jpg",
        "CHW float tensor": torch.zeros(3, 90, 130),
    }
    for name, value in inputs.items():
        assert_transform_like_original(plans[pipeline], transform, value, name)


def test_the_fixed_candidates_take_the_fast_paths(plans):
    """Guards the test's premise: the fixed plans decode with libjpeg-turbo, at a reduced
    DCT scale where the rules allow, so the cases above exercise those paths."""
    for name, variants in plans.items():
        by_label = {v.label: v.plan for v in variants}
        assert by_label["exact-rules"].physical.decode.option("backend") == "simplejpeg", name
        assert by_label["all-rules"].physical.decode.option("backend") == "simplejpeg", name
    assert {v.label: v.plan for v in plans["eval"]}["all-rules"].physical.decode.option(
        "min_shrink"
    )


def test_a_plan_that_is_the_original_names_the_file_in_its_errors(tmp_path):
    """When nothing beat the original, the plan runs it as written, and an error it
    raises on a file still says which file (it once lost the path there)."""
    path = write_image(tmp_path, 40, 30, "jpg")
    transform = T.Compose([T.RandomCrop(56), T.ToTensor()])
    plan = Plan(parse(transform), None, Report("close", None, 0, 0, (), None, "as written", 0.0))
    for call in plan_calls(plan).values():
        with pytest.raises(ValueError, match="larger than input image size") as raised:
            call(path)
        assert path in str(raised.value)
