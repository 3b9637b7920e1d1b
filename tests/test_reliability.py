"""Reliability across the three reference loaders (PIL for torchvision, torchvision.io for
v2 on tensors, OpenCV for albumentations): every odd or broken file of test_bad_input,
random and mutated bytes, unrepresentative samples, 20,000 calls in one process, and
plan files checked again on load.

Each comparison is the original, read by its loader, against the plan on the same path,
under the same seeds: the same outcome (exception class, or output type, shape and
dtype), the same RNG state afterwards, values within the plan's tolerance.
"""

from __future__ import annotations

import faulthandler
import os
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_bad_input import FILES, NOT_SCENES
from torchvision import transforms as T
from torchvision.transforms import v2

import reorder
from conftest import MEAN, STD, USER_LOADERS, build_png, png_chunks, write_image
from reorder.frontends import parse
from reorder.measure.verify import compare, output_units, run_coupled
from reorder.optimizer import APPROXIMATION_MARGIN_DB, reverify
from reorder.plan import Plan, Report
from reorder.rules import EXACT_RULE_NAMES as EXACT_RULES
from reorder.search import enumerate_plans

pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding:DeprecationWarning",
    "ignore:Corrupt JPEG data",
)
SEEDS = (0, 1)
LOADERS = ("pil", "torchvision.io", "cv2")


def eval_pipeline(loader: str) -> Any:
    """The ImageNet eval pipeline as each loader's users write it (every rule can apply)."""
    if loader == "pil":
        return T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)])
    if loader == "torchvision.io":
        to_float = v2.ToDtype(torch.float32, scale=True)
        return v2.Compose([v2.Resize(64), v2.CenterCrop(56), to_float, v2.Normalize(MEAN, STD)])
    A = pytest.importorskip("albumentations")
    from albumentations.pytorch import ToTensorV2

    return A.Compose([A.SmallestMaxSize(64), A.CenterCrop(56, 56), A.Normalize(), ToTensorV2()])


@dataclass(frozen=True)
class Variant:
    label: str
    plan: Plan
    tolerance: str


def _fixed(pipeline, physical, tolerance: str) -> Plan:
    return Plan(pipeline, physical, Report(tolerance, None, 0, 0, (), None, "fixed", 0.0))


def variants_for(loader: str, samples: list[str]) -> list[Variant]:
    """The plan `optimize` chose, the most rewritten exact-rules candidate (held to exact)
    and the most rewritten candidate of all (held to the strictest tolerance it meets on
    the samples with the planner's margin for approximate rules: for albumentations'
    unantialiased resize, the reduced decode only meets 'fast')."""
    transform = eval_pipeline(loader)
    chosen = reorder.optimize(transform, samples, loader=loader, seeds=1, repeats=1, progress=False)
    pipeline = parse(transform, loader)
    candidates = enumerate_plans(pipeline)
    exact = max((p for p in candidates if set(p.rules) <= EXACT_RULES), key=lambda p: len(p.rules))
    most = max(candidates, key=lambda p: len(p.rules))
    assert exact.decode.option("backend") == most.decode.option("backend") == "simplejpeg"
    verdict = reverify(_fixed(pipeline, most, "close"), samples).verification
    met = next(t for t in ("close", "fast") if verdict.within(t, APPROXIMATION_MARGIN_DB))
    return [
        Variant("optimized", chosen, "close"),
        Variant("exact-rules", _fixed(pipeline, exact, "exact"), "exact"),
        Variant("all-rules", _fixed(pipeline, most, met), met),
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reliability")


@pytest.fixture(scope="module")
def samples(folder) -> list[str]:
    return [
        write_image(folder, 320, 240, "jpg", seed=0, name="sample_a"),
        write_image(folder, 240, 320, "jpg", seed=1, name="sample_b"),
    ]


@pytest.fixture(scope="module")
def variants(samples) -> dict[str, list[Variant]]:
    return {loader: variants_for(loader, samples) for loader in LOADERS}


def user_call(pipeline) -> Any:
    """The original on a path, read as its users read files (`USER_LOADERS`)."""
    load = USER_LOADERS[pipeline.loader]
    return lambda path: pipeline.invoke(pipeline.original, load(path))


def assert_like_original(variant: Variant, path: str, values: bool = True) -> None:
    """The plan on `path` does what the original, read as its users read files, does:
    the same output (`values`: held to the variant's tolerance, not just its type, shape
    and dtype), or an error the original's `except` clause catches, naming the file."""
    pipeline = variant.plan.pipeline
    generators = pipeline.generators
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [run_coupled(user_call(pipeline), path, s, generators) for s in SEEDS]
        got = [run_coupled(variant.plan, path, s, generators) for s in SEEDS]
    verdict = compare(expected, got, output_units(pipeline))
    where = f"{pipeline.loader}, {variant.label} plan, {Path(path).name}: {verdict}"
    assert verdict.problem is None, where
    if values or variant.tolerance == "exact":
        assert verdict.within(variant.tolerance), where
    if expected[0].error is not None:
        with pytest.raises(expected[0].error) as raised:
            variant.plan(path)
        assert path in str(raised.value), f"{where}: the error does not name the file"


# -- every odd or broken file, through the other two loaders --------------------------


def crashes(fn: Any, argument: Any) -> bool:
    """Whether `fn(argument)` kills the process (a decoder's segfault), tried in a fork."""
    pid = os.fork()
    if pid == 0:
        try:
            faulthandler.disable()  # a crash here is an answer, not a report
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            fn(argument)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status)


def crashes_alike(loader: str, variants: list[Variant], path: str) -> bool:
    """Whether the original's loader kills the process on `path` (torchvision.io's PNG
    decoder does, on some damaged files); if so, every plan, which decodes such files
    with that loader, must kill it as well."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not (hasattr(os, "fork") and crashes(USER_LOADERS[loader], path)):
            return False
        assert all(crashes(v.plan, path) for v in variants)
    return True


@pytest.mark.parametrize("loader", ["torchvision.io", "cv2"])
@pytest.mark.parametrize("case", list(FILES))
def test_every_file_does_what_the_original_did(folder, variants, case, loader):
    """test_bad_input runs these files through torchvision on PIL; here through v2 on
    torchvision.io tensors and albumentations on OpenCV arrays."""
    path = FILES[case](folder)
    if crashes_alike(loader, variants[loader], path):
        return
    for variant in variants[loader]:
        assert_like_original(variant, path, values=case not in NOT_SCENES)


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("size", [(10000, 10), (10, 10000), (1, 1), (2, 3000)])
def test_extreme_aspect_ratios(folder, variants, loader, size):
    path = write_image(folder, *size, "jpg", seed=4, name=f"extreme_{size[0]}x{size[1]}")
    for variant in variants[loader]:
        assert_like_original(variant, path)


# -- fuzzing: random and mutated bytes --------------------------------------------------

FUZZ_EXAMPLES = 300  # per test run, over the three loaders


def _seed_files() -> dict[str, bytes]:
    # A folder of this process's own: two test workers writing one shared file at
    # collection raced, and one read it empty.
    folder = Path(tempfile.mkdtemp(prefix="reorder-fuzz-seed-"))
    made = {
        "jpg": write_image(folder, 72, 48, "jpg", seed=2, name="fuzz_seed"),
        "progressive": write_image(
            folder, 72, 48, "jpg", seed=2, name="fuzz_seed_prog", progressive=True
        ),
        "png": write_image(folder, 40, 30, "png", seed=2, name="fuzz_seed"),
    }
    return {name: Path(path).read_bytes() for name, path in made.items()}


SEED_FILES = _seed_files()


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    mutated = bytearray(data)
    for position, mask in flips:
        mutated[position % len(mutated)] ^= mask
    return bytes(mutated)


def _splice(data: bytes, position: int, insert: bytes, cut: int) -> bytes:
    position %= len(data)
    return data[:position] + insert + data[position + cut :]


def _valid_crcs(data: bytes) -> bytes:
    """A damaged PNG with every whole chunk's CRC made right again: the damage then
    reaches the decoders' inflate and unfiltering, past their CRC checks."""
    return build_png(png_chunks(data))


seed_bytes = st.sampled_from(list(SEED_FILES.values()))
png_flips = st.lists(st.tuples(st.integers(8, 2**20), st.integers(1, 255)), min_size=1, max_size=6)
fuzzed_bytes = st.one_of(
    st.builds(lambda flips: _valid_crcs(_flip(SEED_FILES["png"], flips)), png_flips),
    st.binary(max_size=600),
    st.builds(lambda b, n: b[: int(len(b) * n)], seed_bytes, st.floats(0, 1)),
    st.builds(
        _flip,
        seed_bytes,
        st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=6),
    ),
    st.builds(
        _splice, seed_bytes, st.integers(0, 2**20), st.binary(max_size=40), st.integers(0, 40)
    ),
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="crashes are caught in a forked child")
@settings(max_examples=FUZZ_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=fuzzed_bytes, loader=st.sampled_from(LOADERS), suffix=st.sampled_from([".jpg", ".png"]))
def test_fuzzed_files_fail_or_decode_as_the_original_does(folder, variants, data, loader, suffix):
    """Damaged files decode to blocks of garbage, not scenes: every plan must do what the
    original does (raise its class, or return its type, shape and dtype), and the
    exact-rules plan must also return its values. Where the original's own loader crashes
    the process (torchvision.io's PNG decoder does, on some damaged files), the plan,
    which decodes such files with that loader, crashes as well: neither is run here."""
    path = str(folder / f"fuzzed{suffix}")
    Path(path).write_bytes(data)
    if crashes_alike(loader, variants[loader], path):
        return
    for variant in variants[loader]:
        assert_like_original(variant, path, values=False)


# -- samples that are not alike --------------------------------------------------------


@pytest.mark.parametrize("loader", LOADERS)
def test_unrepresentative_samples_still_hold_the_contract(folder, loader):
    """One huge outlier among small files, JPEG and PNG, gray and colour: the chosen plan
    holds its tolerance on each sample, and the report shows how varied they were."""
    mixed = [
        write_image(folder, 2400, 1800, "jpg", seed=1, name="outlier_large"),
        write_image(folder, 96, 64, "jpg", seed=2, name="mixed_small"),
        write_image(folder, 120, 90, "png", seed=3, name="mixed_png"),
        write_image(folder, 100, 140, "jpg-l", seed=4, name="mixed_gray"),
    ]
    plan = reorder.optimize(
        eval_pipeline(loader), mixed, loader=loader, seeds=1, repeats=1, progress=False
    )
    for path in mixed:
        assert_like_original(Variant("optimized", plan, "close"), path)
    assert "4 files (3 .jpg, 1 .png), 96x64 to 2400x1800 px" in plan.report.spread
    assert plan.report.spread in str(plan)


# -- a long run ------------------------------------------------------------------------

SOAK_CALLS = 20_000


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_twenty_thousand_calls_leave_memory_and_file_handles_flat(folder, variants):
    """A train-like loop: random crops of mixed files, good and broken, through each
    loader's most rewritten plan. After a warm-up, resident memory grows by less than
    8 MiB over 20,000 calls, and no file stays open."""
    paths = [
        write_image(folder, 160 + 8 * i, 120, "jpg", seed=i, name=f"soak_{i}") for i in range(4)
    ] + [write_image(folder, 90, 70, "png", seed=5, name="soak_png"), FILES["zero_bytes"](folder)]
    plans = [variants[loader][2].plan for loader in LOADERS]

    def call(i: int) -> None:
        try:
            plans[i % len(plans)](paths[i % len(paths)])
        except Exception:
            pass  # the broken file raises, as the original does; its error path runs too

    open_files = len(os.listdir("/proc/self/fd"))
    for i in range(2_000):
        call(i)
    before = _resident_bytes()
    for i in range(SOAK_CALLS):
        call(i)
    growth = _resident_bytes() - before
    print(f"soak: {SOAK_CALLS} calls, resident memory {growth / 2**20:+.2f} MiB")
    assert growth < 8 * 2**20, f"resident memory grew by {growth / 2**20:.1f} MiB"
    assert len(os.listdir("/proc/self/fd")) == open_files


# -- plan files checked again ----------------------------------------------------------


def test_a_loaded_plan_is_verified_again_on_request(samples, variants, tmp_path):
    plan = variants["pil"][0].plan
    plan.save(tmp_path / "plan.json")
    loaded = reorder.load(tmp_path / "plan.json", eval_pipeline("pil"), verify=samples)
    assert "re-verified: holds on 2 images x 2 seeds" in loaded.report.loaded_from
    assert torch.equal(loaded(samples[0]), plan(samples[0]))


@pytest.mark.parametrize("verify", [True, 3, b"photo.jpg"], ids=repr)
def test_verify_takes_image_paths_and_says_so(samples, variants, tmp_path, verify):
    variants["pil"][0].plan.save(tmp_path / "plan.json")
    with pytest.raises(TypeError, match="expected image paths or a directory, got"):
        reorder.load(tmp_path / "plan.json", eval_pipeline("pil"), verify=verify)


def test_a_loaded_plan_that_no_longer_holds_is_refused(samples, variants, tmp_path):
    """The most rewritten candidate, saved as if planned for 'exact': on re-verification it
    misses 'exact', and loading says so rather than return it."""
    plan = variants["pil"][2].plan
    assert plan.physical is not None and set(plan.physical.rules) - EXACT_RULES
    exact = Plan(plan.pipeline, plan.physical, Report("exact", None, 0, 0, (), None, "", 0.0))
    exact.save(tmp_path / "plan.json")
    reorder.load(tmp_path / "plan.json", eval_pipeline("pil"))  # unchecked: loads
    with pytest.raises(reorder.PlanFileError, match="no longer holds 'exact'"):
        reorder.load(tmp_path / "plan.json", eval_pipeline("pil"), verify=samples)


def test_opencvs_pixel_limit_applies_to_the_plan_as_to_the_original(folder):
    """OpenCV refuses images above OPENCV_IO_MAX_IMAGE_PIXELS (read once, at start-up); the
    faster decoder would not, so the plan must leave such files to OpenCV."""
    pytest.importorskip("albumentations")
    path = write_image(folder, 60, 40, "jpg", seed=3, name="over_the_limit")
    script = f"""
import albumentations as A
import cv2
from reorder.frontends import parse
from reorder.plan import Plan, Report
from reorder.search import enumerate_plans
pipeline = parse(A.Compose([A.CenterCrop(20, 20)]))
fast = next(p for p in enumerate_plans(pipeline) if p.decode.option("backend") == "simplejpeg")
plan = Plan(pipeline, fast, Report("exact", None, 0, 0, (), None, "fixed", 0.0))
reference = lambda p: cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB)
for run in (reference, plan):
    try:
        run({path!r})
        print("decoded")
    except cv2.error as exc:
        print("error", {path!r} in str(exc) or run is reference)
"""
    env = {**os.environ, "OPENCV_IO_MAX_IMAGE_PIXELS": str(60 * 40 - 1)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["error True", "error True"], result.stdout
