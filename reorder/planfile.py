"""The plan file: JSON with the chosen physical plans, their envelopes and the report.

Writing needs only data; reading checks a file (size, JSON, format, schema, shapes)
before anything in it is used, and nothing in it is ever run. `reorder.loading` turns a
checked file back into a `Plan` for a pipeline.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from reorder.ir import Envelope, LogicalPipeline, PhysicalPlan
from reorder.search import reachable_keys

SCHEMA_VERSION = 1
FORMAT = "reorder-plan"
_LIBRARIES = (
    "reorder",
    "torch",
    "torchvision",
    "pillow",
    "opencv-python-headless",
    "simplejpeg",
    "numpy",
)
_MAX_FILE_BYTES = 4 * 2**20


class PlanFileError(ValueError):
    """A plan file that cannot be used with this pipeline; the message says why."""


def library_versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


Verified = tuple[PhysicalPlan | None, Envelope | None]


def contents(
    pipeline: LogicalPipeline,
    source: str | None,
    settings: dict[str, str],
    for_files: Verified,
    for_images: Verified,
    report: dict[str, Any],
) -> dict[str, Any]:
    """A plan file's JSON object. `for_files` and `for_images`: each physical plan (None:
    the original) and where it was verified."""
    data = {
        "format": FORMAT,
        "schema": SCHEMA_VERSION,
        "versions": library_versions(),
        "fingerprint": pipeline.fingerprint(),
        "loader": pipeline.loader,
        "source": source,
        "pipeline": [op.name for op in pipeline.ops],
        "settings": settings,
        "physical": _plan_dict(for_files[0]),
        "decoded": _plan_dict(for_images[0]),
        "envelope": _envelope_dict(for_files[1]),
        "decoded_envelope": _envelope_dict(for_images[1]),
        "report": _finite(report),
    }
    return {**data, "digest": _digest(data)}


# What runs: the plans and where each was verified. The report is text about them, read
# back as damaged where it is malformed.
_RUNS = ("physical", "decoded", "envelope", "decoded_envelope")


def _digest(data: dict[str, Any]) -> str:
    """A checksum of what runs: a hand edit (a widened envelope, another kernel) shows as a
    mismatch. Not a signature: whoever edits a file can recompute it."""
    runs = {key: data.get(key) for key in _RUNS}
    return hashlib.sha256(json.dumps(runs, sort_keys=True).encode()).hexdigest()


def check_digest(data: dict[str, Any], path: str) -> None:
    """Refuse a file whose plans or envelopes are not what was written. Files from before
    digests (no "digest" field) load as they did."""
    if "digest" in data and data["digest"] != _digest(data):
        raise PlanFileError(
            f"{path}: its plans or envelopes are not what reorder wrote (edited by hand?); "
            "re-run reorder.optimize"
        )


def write(data: dict[str, Any], path: str | os.PathLike) -> None:
    Path(path).write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")


def _plan_dict(physical: PhysicalPlan | None) -> dict[str, Any] | None:
    return physical.to_dict() if physical is not None else None


def _envelope_dict(envelope: Envelope | None) -> dict[str, Any] | None:
    return envelope.to_dict() if envelope is not None else None


def _finite(value: Any) -> Any:
    """JSON has no infinity: an infinite PSNR (identical output) is stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def read_plan_file(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON object of a plan file, after checking that it is one this version reads
    (size, JSON, format, schema); raises PlanFileError otherwise. Nothing in it is run."""
    path = os.fspath(path)
    if os.path.getsize(path) > _MAX_FILE_BYTES:
        raise PlanFileError(f"{path}: too large to be a plan file")
    try:
        data = json.loads(Path(path).read_text())
    except (ValueError, RecursionError) as exc:  # bad text, JSON, or a 5000-digit number
        raise PlanFileError(f"{path}: not a reorder plan file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PlanFileError(f"{path}: not a reorder plan file")
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise PlanFileError(f"{path}: plan schema {schema!r} is not one reorder writes")
    if schema > SCHEMA_VERSION:
        raise PlanFileError(f"{path}: plan schema {schema!r} is newer than this reorder reads")
    return data


def read_physical(raw: Any, pipeline: LogicalPipeline, path: str) -> PhysicalPlan | None:
    """A physical plan of a plan file (None: the original), checked to be one this
    version's rules build for `pipeline`; raises PlanFileError otherwise."""
    if raw is None:
        return None
    try:
        if not isinstance(raw, dict):
            raise ValueError("a physical plan must be an object")
        physical = PhysicalPlan.from_dict(raw)
    except (ValueError, TypeError, RecursionError) as exc:
        raise PlanFileError(f"{path}: malformed plan ({exc})") from None
    if physical.key() not in reachable_keys(pipeline):
        raise PlanFileError(
            f"{path}: not a plan reorder builds for this pipeline "
            "(edited by hand, or made by another version)"
        )
    return physical


def read_envelope(data: dict[str, Any], key: str, physical: Any, path: str) -> Envelope | None:
    """The envelope a plan file records for a physical plan. A file from before envelopes
    would run unverified geometry, so it is refused; null is a plan saved without one
    (built by hand, not by `optimize`), which runs unguarded as it did when saved."""
    if physical is None or (key in data and data[key] is None):
        return None
    if key not in data:
        raise PlanFileError(
            f"{path}: this plan records no verified envelope (written by an older reorder); "
            "re-run reorder.optimize"
        )
    try:
        return Envelope.from_dict(data[key])
    except (ValueError, TypeError) as exc:
        raise PlanFileError(f"{path}: malformed envelope ({exc})") from None
