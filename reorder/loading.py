"""`reorder.load`: a plan file back as a `Plan` for the same pipeline, checked (and, if
asked, verified again on images)."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from reorder.frontends import parse
from reorder.frontends.watch import describe_changes
from reorder.ir import LogicalPipeline
from reorder.measure.verify import TOLERANCES
from reorder.optimizer import reverify
from reorder.plan import Plan, Report
from reorder.planfile import (
    PlanFileError,
    check_digest,
    library_versions,
    read_envelope,
    read_physical,
    read_plan_file,
)
from reorder.runtime.transform import watch


def load(
    path: str | os.PathLike,
    transform: Any,
    loader: str | None = None,
    verify: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
) -> Plan:
    """Read a plan saved by `Plan.save` for the same pipeline `transform`, fed by the same
    `loader` as when it was planned (see `reorder.optimize`; by default the one the file
    records).

    Only data is read (JSON; no pickle, no code). Raises `PlanFileError` for a file that
    is not a plan, a newer schema, another pipeline, or kernels this version lacks.
    Warns when the plan was measured with other library versions. `verify`: image paths
    or a directory to check the plan on again (against the original, 2 seeds each, at the
    tolerance it was planned for); `PlanFileError` if it no longer holds there.
    """
    # Past 50 lines by its docstring, the public reference of `reorder.load`.
    path = os.fspath(path)
    data = read_plan_file(path)
    recorded = data.get("loader")
    if loader is None and isinstance(recorded, str):
        loader = recorded
    try:
        pipeline = parse(transform, loader)
    except ValueError as exc:  # a loader this pipeline's library does not read with
        raise PlanFileError(f"{path}: {exc}") from None
    if data.get("fingerprint") != pipeline.fingerprint():
        raise PlanFileError(
            f"{path}: this plan was made for a different pipeline ({_difference(data, pipeline)}); "
            "re-run reorder.optimize for this one (from a shell: `reorder plan`)"
        )
    physical = read_physical(data.get("physical"), pipeline, path)
    # Files written before the optimizer chose for decoded images ran `physical` on them.
    for_images = read_physical(data["decoded"], pipeline, path) if "decoded" in data else physical
    envelope = read_envelope(data, "envelope", physical, path)
    envelope_for_images = read_envelope(
        data, "decoded_envelope" if "decoded" in data else "envelope", for_images, path
    )
    check_digest(data, path)
    versions = data.get("versions")
    if versions != library_versions():
        warnings.warn(
            f"{path} was measured with {versions}, this process runs {library_versions()}; "
            "pass verify=<sample images> to check it again, or re-run reorder.optimize",
            stacklevel=2,
        )
    report = replace(_saved_report(data), loaded_from=path)
    if report.candidates and (physical is None) != (report.chosen is None):
        raise PlanFileError(
            f"{path}: its report and its plan disagree on whether a plan was chosen "
            "(edited by hand?); re-run reorder.optimize"
        )
    plan = Plan(pipeline, physical, report, for_images, envelope, envelope_for_images)
    if verify is None or physical is None:
        return plan
    recheck = reverify(plan, verify)
    if recheck.verdict == "broken":
        raise PlanFileError(
            f"{path}: the plan no longer holds '{report.tolerance}': {recheck.describe()}; "
            "re-run reorder.optimize"
        )
    plan.report = replace(report, loaded_from=f"{path}, re-verified: {recheck.describe()}")
    return plan


def _difference(data: dict[str, Any], pipeline: LogicalPipeline) -> str:
    """What differs between the pipeline a plan file was made for and `pipeline`: each
    op and setting, old and new value, where the file records settings."""
    if data.get("loader") != pipeline.loader:
        return f"planned for files read by loader={data.get('loader')!r}, given {pipeline.loader!r}"
    saved = data.get("settings")
    if isinstance(saved, dict) and all(isinstance(v, str) for v in saved.values()):
        changes = describe_changes(saved, watch(pipeline).settings)
        if changes:
            return changes
    return f"made for {data.get('pipeline')}, given {[op.name for op in pipeline.ops]}"


def _saved_report(data: dict[str, Any]) -> Report:
    """The report a plan file holds; for one too old or damaged to read, a report of
    what can still be told (its tolerance, and what runs on decoded images)."""
    try:
        return Report.from_dict(data["report"])
    except (KeyError, TypeError, ValueError):
        why = "the file's report could not be read"
        return Report(
            _planned_tolerance(data),
            None,
            0,
            0,
            (),
            None,
            why,
            0.0,
            decoded_why=_planned_decoded_why(data),
        )


def _planned_tolerance(data: dict[str, Any]) -> str:
    """The tolerance the file says it was planned for; "exact" if it says nothing usable."""
    report = data.get("report")
    tolerance = report.get("tolerance") if isinstance(report, dict) else None
    return tolerance if isinstance(tolerance, str) and tolerance in TOLERANCES else "exact"


def _planned_decoded_why(data: dict[str, Any]) -> str:
    report = data.get("report")
    why = report.get("decoded_why") if isinstance(report, dict) else None
    return why if isinstance(why, str) else ""
