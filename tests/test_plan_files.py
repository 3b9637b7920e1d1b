"""Plan files: `plan.save(path)` / `reorder.load(path, transform)`.

A plan file is data (JSON, versioned, with the pipeline's fingerprint): no pickle, no
eval. It round-trips to a plan that computes the same thing under the same seeds.
Anything else -- another pipeline, a newer schema, a file that is not JSON or not a plan,
or a hostile file -- raises `PlanFileError` naming the file, and never runs anything or
raises some other exception class.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import importlib
import json
import os
import pickle
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torchvision import transforms as T

import reorder
from conftest import MEAN, STD, write_image
from reorder.frontends import parse
from reorder.ir import Envelope, ImageSpec
from reorder.ops.decode import pil_rgb_loader
from reorder.plan import Candidate, Plan, Report
from reorder.planfile import SCHEMA_VERSION, PlanFileError, library_versions
from reorder.rng import seed_all
from reorder.search import as_written, enumerate_plans

SEEDS = (0, 1, 2)


def eval_pipeline() -> T.Compose:
    return T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)])


def train_pipeline() -> T.Compose:
    return T.Compose(
        [T.RandomResizedCrop(48), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)]
    )


class Identity:
    """A user's own op, without a __repr__: opaque, a barrier."""

    def __call__(self, img):
        return img


def barrier_pipeline() -> T.Compose:
    return T.Compose([T.Resize(64), Identity(), T.CenterCrop(56), T.ToTensor()])


def _fixed_plan(transform, tolerance: str = "close") -> Plan:
    """The most rewritten candidate: a plan with every kind of stage and option in it."""
    pipeline = parse(transform)
    physical = max(enumerate_plans(pipeline), key=lambda p: len(p.rules))
    return Plan(
        pipeline, physical, Report(tolerance, None, 0, 0, (), None, "fixed for a test", 0.0)
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("plan_files")


@pytest.fixture(scope="module")
def images(folder) -> list[str]:
    return [
        write_image(folder, 320, 240, "jpg", seed=0),
        write_image(folder, 240, 320, "jpg", seed=1),
        write_image(folder, 150, 110, "png", seed=2),
    ]


@pytest.fixture(scope="module")
def saved(folder) -> tuple[Path, dict[str, Any]]:
    """A valid plan file for `eval_pipeline()` (the most rewritten candidate) and its JSON."""
    path = folder / "valid.json"
    _fixed_plan(eval_pipeline()).save(path)
    return path, json.loads(path.read_text())


def _outputs(fn: Callable[[str], Any], paths: list[str]) -> list[tuple[Any, torch.Tensor]]:
    out = []
    for path in paths:
        for seed in SEEDS:
            seed_all(seed)
            out.append((fn(path), torch.get_rng_state()))
    return out


def assert_identical(a, b) -> None:
    for (x, rng_x), (y, rng_y) in zip(a, b, strict=True):
        assert type(x) is type(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert torch.equal(x, y)
        assert torch.equal(rng_x, rng_y)


# -- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("make", [eval_pipeline, train_pipeline, barrier_pipeline])
def test_round_trip_of_an_optimized_plan(folder, images, make):
    transform = make()
    plan = reorder.optimize(
        transform, images[:2], tolerance="close", seeds=1, repeats=1, progress=False
    )
    path = folder / f"{make.__name__}.json"
    plan.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same library versions: no warning
        loaded = reorder.load(path, transform)
    assert loaded.physical == plan.physical
    assert loaded.describe() == plan.describe()
    assert_identical(_outputs(plan, images), _outputs(loaded, images))
    assert_identical(
        _outputs(lambda p: plan.transform(pil_rgb_loader(p)), images),
        _outputs(lambda p: loaded.transform(pil_rgb_loader(p)), images),
    )


@pytest.mark.parametrize("make", [eval_pipeline, train_pipeline, barrier_pipeline])
def test_round_trip_of_a_fixed_plan_with_every_rule(folder, images, make):
    """Options (backend, min_shrink), fused stages and barriers all survive the file."""
    transform = make()
    plan = _fixed_plan(transform)
    path = folder / f"fixed_{make.__name__}.json"
    plan.save(path)
    loaded = reorder.load(path, transform)
    assert loaded.physical == plan.physical  # rules, stages, options, all of it
    assert_identical(_outputs(plan, images), _outputs(loaded, images))


def test_a_file_from_before_the_decode_option_was_renamed_still_loads(folder, images):
    """Files written before `margin` was named `min_shrink` load as the same plan."""
    transform = train_pipeline()
    plan = _fixed_plan(transform)
    assert plan.physical.min_shrink > 0
    path = folder / "renamed_option.json"
    plan.save(path)
    old = json.loads(path.read_text().replace('"min_shrink":', '"margin":'))
    del old["digest"]  # written before files carried one
    path.write_text(json.dumps(old))
    assert '"margin":' in path.read_text()
    loaded = reorder.load(path, transform)
    assert loaded.physical == plan.physical
    assert_identical(_outputs(plan, images), _outputs(loaded, images))


def test_round_trip_of_the_original_pipeline(folder, images):
    """A plan that chose the original pipeline (no physical plan) saves and loads too."""
    transform = eval_pipeline()
    plan = Plan(parse(transform), None, Report("close", None, 0, 0, (), None, "original", 0.0))
    path = folder / "original.json"
    plan.save(path)
    assert json.loads(path.read_text())["physical"] is None
    loaded = reorder.load(path, transform)
    assert loaded.physical is None
    assert_identical(
        _outputs(lambda p: transform(pil_rgb_loader(p)), images), _outputs(loaded, images)
    )


def test_round_trip_with_a_rebuilt_pipeline(folder, images):
    """The usual use: save today, rebuild the same pipeline in tomorrow's process, load.
    A user's own op without a __repr__ is opaque (called as written, never planned across),
    so a fresh but identical instance of it must not make the pipeline look different."""
    plan = _fixed_plan(barrier_pipeline())
    path = folder / "rebuilt.json"
    plan.save(path)
    rebuilt = barrier_pipeline()  # new objects, same settings
    loaded = reorder.load(path, rebuilt)
    assert_identical(_outputs(plan, images), _outputs(loaded, images))


def test_round_trip_in_a_fresh_process(folder, images):
    """Load and run in another interpreter, where object ids and hash seeds differ."""
    transform = eval_pipeline()
    plan = _fixed_plan(transform)
    path = folder / "fresh.json"
    plan.save(path)
    torch.manual_seed(0)
    expected = plan(images[0])
    out = folder / "fresh_output.pt"
    script = (
        "import sys, torch, reorder\n"
        "from torchvision import transforms as T\n"
        f"MEAN, STD = {MEAN!r}, {STD!r}\n"
        "tf = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)])\n"
        "plan = reorder.load(sys.argv[1], tf)\n"
        "torch.manual_seed(0)\n"
        "torch.save(plan(sys.argv[2]), sys.argv[3])\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), images[0], str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert torch.equal(torch.load(out), expected)


# -- what is in the file ---------------------------------------------------------------


def test_the_file_is_versioned_json_with_a_fingerprint(saved):
    path, data = saved
    assert data["format"] == "reorder-plan"
    assert data["schema"] == SCHEMA_VERSION and isinstance(data["schema"], int)
    assert data["versions"] == library_versions()
    for library in ("reorder", "torch", "torchvision", "pillow", "simplejpeg", "numpy"):
        assert library in data["versions"]
    assert data["fingerprint"] == parse(eval_pipeline()).fingerprint()
    assert isinstance(data["fingerprint"], str) and len(data["fingerprint"]) >= 16
    assert data["physical"]["decode"]["kernel"] == "decode"
    # Plain data only: no pickled or encoded objects anywhere.
    text = path.read_text()
    assert "py/object" not in text and "__reduce__" not in text and "base64" not in text
    json.loads(text, parse_constant=lambda name: pytest.fail(f"non-standard JSON constant {name}"))


def test_the_file_is_stable(folder):
    """Saving the same plan twice gives the same bytes (diffable, cacheable)."""
    plan = _fixed_plan(eval_pipeline())
    plan.save(folder / "one.json")
    plan.save(folder / "two.json")
    assert (folder / "one.json").read_bytes() == (folder / "two.json").read_bytes()


def test_save_accepts_str_and_path_and_load_too(folder, images):
    transform = eval_pipeline()
    plan = _fixed_plan(transform)
    plan.save(str(folder / "as_str.json"))
    plan.save(folder / "as_path.json")
    for path in (str(folder / "as_path.json"), folder / "as_str.json"):
        assert reorder.load(path, transform).physical == plan.physical


# -- another pipeline ------------------------------------------------------------------

OTHER_PIPELINES = {
    "another size": lambda: T.Compose(
        [T.Resize(65), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)]
    ),
    "another crop": lambda: T.Compose(
        [T.Resize(64), T.CenterCrop(48), T.ToTensor(), T.Normalize(MEAN, STD)]
    ),
    "another interpolation": lambda: T.Compose(
        [
            T.Resize(64, interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(56),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ]
    ),
    "no antialias": lambda: T.Compose(
        [T.Resize(64, antialias=False), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)]
    ),
    "another normalization": lambda: T.Compose(
        [T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)]
    ),
    "ops reordered": lambda: T.Compose(
        [T.CenterCrop(56), T.Resize(64), T.ToTensor(), T.Normalize(MEAN, STD)]
    ),
    "an op more": lambda: T.Compose(
        [
            T.Resize(64),
            T.CenterCrop(56),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ]
    ),
    "an op less": lambda: T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor()]),
    "a barrier more": lambda: T.Compose(
        [T.Resize(64), Identity(), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)]
    ),
    "the train pipeline": train_pipeline,
}


@pytest.mark.parametrize("name", list(OTHER_PIPELINES))
def test_loading_for_another_pipeline_is_refused(saved, name):
    path, _ = saved
    with pytest.raises(PlanFileError) as info:
        reorder.load(path, OTHER_PIPELINES[name]())
    assert str(path) in str(info.value)


CROP_SETTINGS = {
    "pad_if_needed": lambda: T.RandomCrop(300, pad_if_needed=True),
    "padding_mode": lambda: T.RandomCrop(300, padding=4, padding_mode="reflect"),
    "fill": lambda: T.RandomCrop(300, padding=4, fill=255),
}


@pytest.mark.parametrize("setting", list(CROP_SETTINGS))
def test_loading_for_a_pipeline_that_differs_in_one_setting_is_refused(folder, setting):
    """Each setting that changes what an op computes (and which rules apply to it: these
    decide its `fills`/`axis_aligned` traits) is part of the fingerprint, shown in the
    transform's repr or not."""
    base = {
        "pad_if_needed": lambda: T.RandomCrop(300),
        "padding_mode": lambda: T.RandomCrop(300, padding=4),
        "fill": lambda: T.RandomCrop(300, padding=4),
    }[setting]
    saved_for = T.Compose([base(), T.Resize(50), T.ToTensor()])
    other = T.Compose([CROP_SETTINGS[setting](), T.Resize(50), T.ToTensor()])
    path = folder / f"setting_{setting}.json"
    _fixed_plan(saved_for).save(path)
    with pytest.raises(PlanFileError) as info:
        reorder.load(path, other)
    assert str(path) in str(info.value)


# -- versions --------------------------------------------------------------------------


def _rewrite(folder: Path, data: Any, name: str) -> Path:
    path = folder / name
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("library", ["torch", "torchvision", "pillow", "simplejpeg", "reorder"])
def test_other_library_versions_warn(folder, saved, images, library):
    _, data = saved
    data = copy.deepcopy(data)
    data["versions"][library] = "0.0.1"
    path = _rewrite(folder, data, f"versions_{library}.json")
    with pytest.warns(UserWarning, match=r"0\.0\.1") as record:
        loaded = reorder.load(path, eval_pipeline())
    assert any(str(path) in str(w.message) for w in record)
    torch.manual_seed(0)
    assert loaded(images[0]).shape == (3, 56, 56)  # a warning, still a plan


def test_a_newer_schema_is_refused(folder, saved):
    _, data = saved
    for schema in (SCHEMA_VERSION + 1, 10**9):
        newer = copy.deepcopy(data)
        newer["schema"] = schema
        path = _rewrite(folder, newer, f"schema_{schema}.json")
        with pytest.raises(PlanFileError) as info:
            reorder.load(path, eval_pipeline())
        assert str(path) in str(info.value)
        assert "schema" in str(info.value)


# -- not a plan file -------------------------------------------------------------------


def _not_plans(folder: Path, saved_path: Path, images: list[str]) -> dict[str, bytes]:
    valid = saved_path.read_bytes()
    physical = _fixed_plan(eval_pipeline()).physical
    return {
        "empty": b"",
        "whitespace": b"   \n",
        "binary": bytes(range(256)) * 8,
        "a JPEG": Path(images[0]).read_bytes(),
        "a pickle of the plan's data": pickle.dumps(json.loads(valid)),
        "a pickled physical plan": pickle.dumps(physical),
        "a python dict literal": repr(json.loads(valid)).encode(),
        "truncated JSON (half)": valid[: len(valid) // 2],
        "truncated JSON (last byte)": valid[:-2],
        "JSON null": b"null",
        "JSON number": b"1",
        "JSON string": b'"reorder-plan"',
        "JSON list": b'["reorder-plan", 1]',
        "another JSON object": b'{"name": "not a plan"}',
        "NaN": b"NaN",
        "UTF-16": valid.decode().encode("utf-16"),
        "latin-1 garbage in a string": valid.replace(b'"reorder-plan"', b'"reorder-plan\xff"'),
        "two documents": valid + valid,
    }


NOT_PLANS = [
    "empty",
    "whitespace",
    "binary",
    "a JPEG",
    "a pickle of the plan's data",
    "a pickled physical plan",
    "a python dict literal",
    "truncated JSON (half)",
    "truncated JSON (last byte)",
    "JSON null",
    "JSON number",
    "JSON string",
    "JSON list",
    "another JSON object",
    "NaN",
    "UTF-16",
    "latin-1 garbage in a string",
    "two documents",
]


@pytest.mark.parametrize("case", NOT_PLANS)
def test_a_file_that_is_not_a_plan_is_refused(folder, saved, images, case, tmp_path):
    content = _not_plans(folder, saved[0], images)[case]
    path = folder / f"not_a_plan_{NOT_PLANS.index(case)}.json"
    path.write_bytes(content)
    load_refused(path, eval_pipeline(), tmp_path)


def test_a_huge_file_is_refused_without_parsing_it(folder, saved):
    """A plan padded to many megabytes (valid JSON) is not read into the parser."""
    path = folder / "huge.json"
    path.write_bytes(saved[0].read_bytes()[:-2] + b" " * (16 * 2**20) + b"}\n")
    with pytest.raises(PlanFileError) as info:
        reorder.load(path, eval_pipeline())
    assert str(path) in str(info.value)


# -- hostile files ---------------------------------------------------------------------


def _nested(depth: int, leaf: Any = 0) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _stages(data):
    return data["physical"]["segments"][0]["stages"]


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _swap_stages(data):
    stages = _stages(data)
    stages[0], stages[1] = stages[1], stages[0]


def _drop_stage(data):
    del _stages(data)[1]


def _duplicate_stage(data):
    _stages(data).append(copy.deepcopy(_stages(data)[0]))


DECODE = ("physical", "decode")
STAGE0 = ("physical", "segments", 0, "stages", 0)

HOSTILE: dict[str, Callable[[dict], None]] = {
    # kernels and decoders that do not exist, some of them spelled like code
    "unknown kernel": _set((*STAGE0, "kernel"), "no_such_kernel"),
    "kernel named like a function": _set((*STAGE0, "kernel"), "os.system"),
    "kernel named like code": _set((*STAGE0, "kernel"), "__import__('os').system('touch PWNED')"),
    "kernel named like a dunder": _set((*STAGE0, "kernel"), "__class__"),
    "unknown decode stage": _set((*DECODE, "kernel"), "eval"),
    "unknown decoder": _set((*DECODE, "options", "backend"), "cv2.imread"),
    "decoder named like code": _set((*DECODE, "options", "backend"), "__import__('os')"),
    "options on a kernel": _set((*STAGE0, "options"), {"command": "rm -rf /"}),
    # op indices out of range, negative, duplicated, missing, in the wrong order
    "op index out of range": _set((*STAGE0, "ops"), [0, 99]),
    "op index negative": _set((*STAGE0, "ops"), [-1]),
    "op index duplicated in a stage": _set((*STAGE0, "ops"), [0, 0]),
    "op index duplicated across stages": _duplicate_stage,
    "op missing": _drop_stage,
    "ops in another order than the pipeline's": _swap_stages,
    "barrier where the pipeline has none": _set(("physical", "segments"), [{"barrier": 0}]),
    "no segments": _set(("physical", "segments"), []),
    # huge numbers
    "huge op index": _set((*STAGE0, "ops"), [10**30]),
    "huge barrier index": _set(("physical", "segments"), [{"barrier": 10**30}]),
    "huge min_shrink": _set((*DECODE, "options", "min_shrink"), 1e308),
    "negative min_shrink": _set((*DECODE, "options", "min_shrink"), -1.0),
    "infinite min_shrink": _set((*DECODE, "options", "min_shrink"), float("inf")),
    "NaN min_shrink": _set((*DECODE, "options", "min_shrink"), float("nan")),
    "huge schema": _set(("schema",), 10**30),
    # deeply nested JSON, where data is expected
    "deeply nested segments": _set(("physical", "segments"), _nested(500)),
    "deeply nested option": _set((*DECODE, "options", "min_shrink"), _nested(500, 1.0)),
    "deeply nested ops": _set((*STAGE0, "ops"), _nested(500)),
    "deeply nested physical": _set(("physical",), _nested(500)),
    # wrong types
    "physical is a string": _set(("physical",), "decode -> reference"),
    "physical is a number": _set(("physical",), 3),
    "physical is a list": _set(("physical",), []),
    "segments is an object": _set(("physical", "segments"), {"0": {"barrier": 0}}),
    "segment is a string": _set(("physical", "segments"), ["reference"]),
    "stages is a string": _set(("physical", "segments", 0, "stages"), "reference"),
    "stage is a list": _set(("physical", "segments", 0, "stages"), [["reference", [0]]]),
    "kernel is a number": _set((*STAGE0, "kernel"), 7),
    "kernel is null": _set((*STAGE0, "kernel"), None),
    "ops is an object": _set((*STAGE0, "ops"), {"0": 0}),
    "ops is a number": _set((*STAGE0, "ops"), 0),
    "op index is a string": _set((*STAGE0, "ops"), ["0"]),
    "op index is a float": _set((*STAGE0, "ops"), [0.0]),
    "op index is a bool": _set((*STAGE0, "ops"), [False]),
    "options is a list": _set((*STAGE0, "options"), []),
    "option value is an object": _set((*DECODE, "options", "min_shrink"), {"value": 1}),
    "min_shrink is a string": _set((*DECODE, "options", "min_shrink"), "1.0"),
    "min_shrink is a bool": _set((*DECODE, "options", "min_shrink"), True),
    "decode is a string": _set(DECODE, "simplejpeg"),
    "decode missing": lambda data: data["physical"].pop("decode"),
    "rules is a string": _set(("physical", "rules"), "fast_jpeg_decode"),
    "rule is a number": _set(("physical", "rules"), [1]),
    "barrier is a string": _set(("physical", "segments"), [{"barrier": "0"}]),
    "schema is a string": _set(("schema",), "1"),
    "schema is a float": _set(("schema",), 1.0),
    "schema is a bool": _set(("schema",), True),
    "schema is null": _set(("schema",), None),
    "schema missing": lambda data: data.pop("schema"),
    "format missing": lambda data: data.pop("format"),
    "fingerprint is a number": _set(("fingerprint",), 0),
    # the plan for decoded images is checked as the plan for files is
    "decoded is a string": _set(("decoded",), "decode -> reference"),
    "decoded is a list": _set(("decoded",), []),
    "decoded stage is a list": _set(("decoded", "segments", 0, "stages"), [["reference", [0]]]),
    "decoded kernel unknown": _set(("decoded", "segments", 0, "stages", 0, "kernel"), "evil"),
    "fingerprint is a list": _set(("fingerprint",), _nested(500, "x")),
}


@contextlib.contextmanager
def no_code_runs(workdir: Path):
    """Inside: unpickling, eval, exec, compile, imports by name and processes all raise.
    (A context around `reorder.load` only, not a fixture: pytest itself compiles code
    when it reports a failure.)"""
    calls: list[str] = []

    def forbid(name: str) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"reorder.load called {name}")

        return refuse

    targets = [
        (pickle, "loads"),
        (pickle, "load"),
        (builtins, "eval"),
        (builtins, "exec"),
        (builtins, "compile"),
        (importlib, "import_module"),
        (os, "system"),
        (os, "popen"),
        (subprocess, "Popen"),
    ]
    saved = [(module, name, getattr(module, name)) for module, name in targets]
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        for module, name in targets:
            setattr(module, name, forbid(f"{module.__name__}.{name}"))
        yield calls
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        os.chdir(cwd)
    assert calls == [], calls
    assert not (workdir / "PWNED").exists()


def load_refused(path: Path, transform: Any, workdir: Path) -> PlanFileError:
    """`reorder.load` raises PlanFileError naming `path`, and runs nothing on the way."""
    with no_code_runs(workdir):
        try:
            reorder.load(path, transform)
        except PlanFileError as exc:
            error = exc
        else:
            error = None
    assert error is not None, f"{path.name}: loaded without an error"
    assert str(path) in str(error), str(error)
    return error


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_file_is_refused(folder, saved, case, tmp_path):
    _, data = saved
    data = copy.deepcopy(data)
    HOSTILE[case](data)
    path = _rewrite(folder, data, f"hostile_{list(HOSTILE).index(case)}.json")
    load_refused(path, eval_pipeline(), tmp_path)


RAW_HOSTILE = {
    # Python refuses to convert integers of more than 4300 digits (a CPU-time guard):
    # the parser raises ValueError, which must still come out as PlanFileError.
    "an integer of 5000 digits as schema": lambda text: text.replace(
        '"schema": 1', '"schema": 1' + "0" * 5000, 1
    ),
    "an integer of 5000 digits as op index": lambda text: text.replace(
        '"ops": [0', '"ops": [1' + "0" * 5000, 1
    ),
    "a float of 5000 digits": lambda text: text.replace(
        '"schema": 1', '"schema": 0.' + "1" * 5000, 1
    ),
    "1e999 (infinity) as schema": lambda text: text.replace('"schema": 1', '"schema": 1e999', 1),
    "Infinity literal as min_shrink": lambda text: text.replace(
        '"min_shrink": 2.0', '"min_shrink": Infinity', 1
    ),
    "NaN literal as schema": lambda text: text.replace('"schema": 1', '"schema": NaN', 1),
    "nesting deeper than the parser goes": lambda text: "[" * 200_000 + "]" * 200_000,
    "nesting deeper than the parser goes, inside a plan": lambda text: text.replace(
        '"physical": {', '"physical": ' + "[" * 100_000 + "]" * 100_000 + ', "x": {', 1
    ),
    "a lone surrogate": lambda text: text.replace('"reorder-plan"', '"reorder-plan\\ud800"', 1),
    "a NUL in a kernel name": lambda text: text.replace(
        '"kernel": "decode"', '"kernel": "decode\\u0000"', 1
    ),
    "duplicate keys, the last one hostile": lambda text: text.replace(
        '"kernel": "decode"', '"kernel": "decode", "kernel": "os.system"', 1
    ),
}


@pytest.mark.parametrize("case", list(RAW_HOSTILE))
def test_a_hostile_text_is_refused(folder, saved, case, tmp_path):
    path, _ = saved
    text = json.dumps(json.loads(path.read_text()))  # one line, predictable spacing
    hostile = RAW_HOSTILE[case](text)
    assert hostile != text, "the mutation did not apply"
    target = folder / f"raw_hostile_{list(RAW_HOSTILE).index(case)}.json"
    target.write_text(hostile)
    load_refused(target, eval_pipeline(), tmp_path)


def test_a_kernel_on_an_op_it_does_not_implement_is_refused(folder, images, tmp_path):
    """An edited file that hands ToTensor to the OpenCV kernel: the search never builds
    that plan (nothing verified it), and run, it returns a numpy array, not a tensor."""
    transform = T.Compose([T.Resize(40), T.ToTensor()])
    pipeline = parse(transform)
    path = folder / "cv_on_totensor.json"
    Plan(
        pipeline, as_written(pipeline), Report("close", None, 0, 0, (), None, "as written", 0.0)
    ).save(path)
    data = json.loads(path.read_text())
    stage = data["physical"]["segments"][0]["stages"][1]
    assert stage["ops"] == [1] and stage["kernel"] == "reference"
    stage["kernel"] = "cv"
    path.write_text(json.dumps(data))
    load_refused(path, transform, tmp_path)


def test_loading_a_valid_file_runs_no_code_either(saved, tmp_path):
    path, _ = saved
    with no_code_runs(tmp_path):
        plan = reorder.load(path, eval_pipeline())
    assert plan.physical is not None


def test_a_missing_file_raises_file_not_found(folder):
    """Not a PlanFileError: there is no file to judge; the ordinary error, naming it."""
    path = folder / "nowhere.json"
    with pytest.raises(FileNotFoundError) as info:
        reorder.load(path, eval_pipeline())
    assert str(path) in str(info.value)


# -- an optimized plan's envelope and report, edited ------------------------------------


@pytest.fixture(scope="module")
def optimized(folder) -> tuple[Path, dict[str, Any]]:
    """A plan file as `optimize` writes one: a chosen candidate in a report, and an
    envelope with a segment (built here, so that no timing decides what is chosen)."""
    fixed = _fixed_plan(eval_pipeline())
    chosen = Candidate(
        fixed.describe(), fixed.physical.rules, 1.0, 1.2, 2.5, 41.0, 9.0, 0.4, True, "accepted"
    )
    report = Report("close", 3.0, 2, 1, (chosen,), 0, "fastest within 'close'", 4.0)
    envelope = Envelope()
    envelope.record(0, ImageSpec(320, 240), "cv_blur", (2.0, 2.0))
    path = folder / "optimized.json"
    Plan(fixed.pipeline, fixed.physical, report, envelope=envelope).save(path)
    return path, json.loads(path.read_text())


SEGMENT0 = ("envelope", "segments", 0)

EDITED_PLANS: dict[str, Callable[[dict], None]] = {
    "a 400-digit size": _set((*SEGMENT0, "sizes", 1, 0), 10**400),
    "sizes of three values": _set((*SEGMENT0, "sizes"), [[1.0, 1.0, 1.0], [9.0, 9.0, 9.0]]),
    "sizes empty": _set((*SEGMENT0, "sizes"), [[], []]),
    "a size as a string": _set((*SEGMENT0, "sizes", 0, 0), "12"),
    "a size as a bool": _set((*SEGMENT0, "sizes", 0, 0), True),
    "sizes not lists": _set((*SEGMENT0, "sizes"), ["1234", "5678"]),
    "the plan chosen, the report says none": _set(("physical",), None),
    # Well-formed, but not what was verified: the checksum of what runs shows it.
    "the envelope widened to every size": _set(
        (*SEGMENT0, "sizes"), [[1.0, 1.0, 0.01, 3.0], [99999.0, 99999.0, 100.0, 3.0]]
    ),
    "the checksum replaced": _set(("digest",), "0" * 64),
}


@pytest.mark.parametrize("case", list(EDITED_PLANS))
def test_an_edited_envelope_or_plan_is_refused(folder, optimized, case, tmp_path):
    data = copy.deepcopy(optimized[1])
    EDITED_PLANS[case](data)
    path = _rewrite(folder, data, f"edited_plan_{list(EDITED_PLANS).index(case)}.json")
    load_refused(path, eval_pipeline(), tmp_path)


CANDIDATE0 = ("report", "candidates", 0)

BAD_REPORTS: dict[str, Callable[[dict], None]] = {
    "a speedup as a string": _set((*CANDIDATE0, "speedup"), "fast"),
    "ms as a string": _set((*CANDIDATE0, "ms"), "1.5"),
    "worst_psnr as a string": _set((*CANDIDATE0, "worst_psnr"), "40 dB"),
    "original_ms as an object": _set(("report", "original_ms"), {"ms": 1}),
    "planning_s as a list": _set(("report", "planning_s"), [1.0]),
    "rules as numbers": _set((*CANDIDATE0, "rules"), [1, 2]),
    "an unknown tolerance": _set(("report", "tolerance"), "bogus"),
    "chosen as a bool": _set(("report", "chosen"), True),
    "chosen out of range": _set(("report", "chosen"), 99),
    "accepted as a string": _set((*CANDIDATE0, "accepted"), "yes"),
}


@pytest.mark.parametrize("case", list(BAD_REPORTS))
def test_an_edited_report_is_read_as_damaged_and_every_view_still_works(
    folder, optimized, images, case
):
    """The plan itself was checked: it loads, runs as saved, and the report says it could
    not be read instead of printing (or crashing on) what the edit put there."""
    data = copy.deepcopy(optimized[1])
    BAD_REPORTS[case](data)
    path = _rewrite(folder, data, f"bad_report_{list(BAD_REPORTS).index(case)}.json")
    plan = reorder.load(path, eval_pipeline())
    assert plan.report.why == "the file's report could not be read"
    # What the file says where it can be read; an unknown one is taken as the strictest.
    assert plan.report.tolerance == ("exact" if case == "an unknown tolerance" else "close")
    for view in (str, repr, reorder.Plan.explain, reorder.Plan.to_code):
        assert isinstance(view(plan), str)
    original = reorder.load(optimized[0], eval_pipeline())
    assert_identical(_outputs(original, images[:1]), _outputs(plan, images[:1]))


def test_a_report_of_the_right_types_reads_back_equal(optimized):
    path, data = optimized
    plan = reorder.load(path, eval_pipeline())
    assert plan.report.candidates and plan.report.chosen is not None
    assert plan.report.why != "the file's report could not be read"


def test_a_schema_below_one_is_refused(folder, saved, tmp_path):
    for schema in (0, -7):
        data = copy.deepcopy(saved[1])
        data["schema"] = schema
        error = load_refused(
            _rewrite(folder, data, f"schema_{schema}.json"), eval_pipeline(), tmp_path
        )
        assert "schema" in str(error)
