"""The `reorder` command as a user runs it: a subprocess, real files, real exit codes."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import reorder
from conftest import write_image
from reorder.frontends import parse
from reorder.plan import Plan, Report
from reorder.rules import EXACT_RULE_NAMES as EXACT_RULES
from reorder.search import enumerate_plans

REORDER = str(Path(sys.executable).parent / "reorder")  # the installed entry point

PIPELINES = """
from torchvision import transforms as T

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
eval_tf = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(), T.Normalize(MEAN, STD)])
not_a_pipeline = object()
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [REORDER, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def user_transform(project: Path):
    """The user's transform, imported in this process as the CLI imports it."""
    spec = importlib.util.spec_from_file_location("user_pipelines", project / "user_pipelines.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.eval_tf


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A user's folder: a module with their transform, and a folder of images."""
    root = tmp_path_factory.mktemp("project")
    (root / "user_pipelines.py").write_text(PIPELINES)
    images = root / "images"
    images.mkdir()
    for i, (w, h) in enumerate([(320, 240), (240, 320), (400, 300)]):
        write_image(images, w, h, "jpg", seed=i)
    (root / "empty").mkdir()
    return root


@pytest.fixture(scope="module")
def planned(project) -> Path:
    result = run(
        "plan",
        "user_pipelines:eval_tf",
        "--images",
        "images",
        "--out",
        "plan.json",
        "--quiet",
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote plan.json: ")
    return project / "plan.json"


def test_plan_writes_a_plan_file_for_the_transform(planned):
    data = json.loads(planned.read_text())
    assert data["source"] == "user_pipelines:eval_tf" and data["loader"] == "pil"
    assert data["pipeline"] == ["Resize", "CenterCrop", "ToTensor", "Normalize"]


def test_show_prints_the_report(project, planned):
    result = run("show", "plan.json", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "plan for user_pipelines:eval_tf" in result.stdout
    assert "chosen :" in result.stdout and "samples: 3 files (3 .jpg)" in result.stdout


def test_bench_times_and_checks_the_plan_on_other_images(project, planned, tmp_path):
    for i in range(2):
        write_image(tmp_path, 360, 270, "jpg", seed=10 + i)
    result = run("bench", str(planned), "--images", str(tmp_path), "--repeats", "2", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "ms/image" in result.stdout and "tolerance 'close': holds" in result.stdout


def test_bench_exits_1_when_the_plan_no_longer_holds(project):
    """A plan saved as if made for 'exact' but built with approximate rules."""
    pipeline = parse(user_transform(project))
    physical = max(enumerate_plans(pipeline), key=lambda p: len(p.rules))
    assert set(physical.rules) - EXACT_RULES
    plan = Plan(pipeline, physical, Report("exact", None, 0, 0, (), None, "for a test", 0.0))
    plan.source = "user_pipelines:eval_tf"
    plan.save(project / "too_exact.json")
    result = run("bench", "too_exact.json", "--images", "images", "--repeats", "1", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "does not hold 'exact'" in result.stderr


def test_a_transform_is_named_by_its_file_from_anywhere(project, tmp_path):
    spec = f"{project / 'user_pipelines.py'}:eval_tf"
    out = tmp_path / "p.json"
    result = run("plan", spec, "--images", str(project / "images"), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["source"] == spec


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "nowhere:eval_tf", "--images", "images", "--out", "p.json"], "PYTHONPATH"),
        (["plan", "missing.py:eval_tf", "--images", "images", "--out", "p.json"], "no such file"),
        (
            ["plan", "user_pipelines:missing", "--images", "images", "--out", "p.json"],
            "no attribute",
        ),
        (["plan", "pipes", "--images", "images", "--out", "p.json"], "MODULE:ATTRIBUTE"),
        (["plan", "user_pipelines:eval_tf", "--images", "no_dir", "--out", "p.json"], "no_dir"),
        (
            ["plan", "user_pipelines:eval_tf", "--images", "empty", "--out", "p.json"],
            "no image files",
        ),
        (
            ["plan", "user_pipelines:not_a_pipeline", "--images", "images", "--out", "p.json"],
            "cannot read",
        ),
        (
            [
                "plan",
                "user_pipelines:eval_tf",
                "--images",
                "images",
                "--out",
                "p.json",
                "--loader",
                "cv2",
            ],
            "not available",
        ),
        (["show", "user_pipelines.py"], "not a reorder plan file"),
        (["show", "nothing.json"], "nothing.json"),
        (["bench", "user_pipelines.py", "--images", "images"], "not a reorder plan file"),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(v[:2]),
)
def test_mistakes_exit_2_with_a_message_naming_the_problem(project, args, message):
    result = run(*args, cwd=project)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "p.json").exists()


def test_bench_needs_to_know_the_transform(project, planned, tmp_path):
    data = json.loads(planned.read_text())
    data["source"] = None
    (tmp_path / "anonymous.json").write_text(json.dumps(data))
    result = run("bench", str(tmp_path / "anonymous.json"), "--images", "images", cwd=project)
    assert result.returncode == 2 and "--transform" in result.stderr
    result = run(
        "bench",
        str(tmp_path / "anonymous.json"),
        "--images",
        "images",
        "--transform",
        "user_pipelines:eval_tf",
        "--repeats",
        "1",
        cwd=project,
    )
    assert result.returncode == 0, result.stderr


def test_usage_errors_exit_2(project):
    result = run("plan", "user_pipelines:eval_tf", "--images", "images", cwd=project)  # no --out
    assert result.returncode == 2 and "--out" in result.stderr


def test_the_api_reads_what_the_cli_wrote(project, planned):
    plan = reorder.load(planned, user_transform(project))
    assert plan.physical is not None
