"""The chosen plan: a drop-in transform and loader, its report, and its file format."""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from reorder.frontends.watch import Watch, describe_changes
from reorder.ir import Envelope, LogicalPipeline, PhysicalPlan
from reorder.kernels.decode import LOADERS
from reorder.runtime import Executor, LazyImage

SCHEMA_VERSION = 1
_FORMAT = "reorder-plan"
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
# `decoded` not given: decoded images take the same physical plan as files.
_SAME = object()


def library_versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


@dataclass(frozen=True)
class Candidate:
    """One row of the report: a plan that was considered, and what became of it."""

    description: str
    rules: tuple[str, ...]
    estimated_ms: float
    ms: float | None  # measured mean ms/image, None if not timed
    speedup: float | None
    worst_psnr: float | None
    max_abs: float | None
    mean_abs: float | None
    accepted: bool
    reason: str
    worst_sample: str = ""  # the image and seed of its largest error


@dataclass(frozen=True)
class Report:
    tolerance: str
    original_ms: float | None
    samples: int
    seeds: int
    candidates: tuple[Candidate, ...]
    chosen: int | None  # index into candidates; None: the original pipeline
    why: str
    planning_s: float
    # How unlike each other the samples were: formats, sizes, the original's ms/image.
    spread: str = ""
    # What `plan.transform` runs on images the user decoded, and why (see `Plan`).
    decoded_why: str = ""
    # What verification covered: the inputs, and the chosen plan's envelope.
    envelope: tuple[str, ...] = ()
    # Where the original raised (every plan was held to raising the same), if anywhere.
    raised: str = ""
    # The plan file this report was read from (and how it was checked again), if any.
    loaded_from: str = ""

    @property
    def chosen_candidate(self) -> Candidate | None:
        return None if self.chosen is None else self.candidates[self.chosen]

    @property
    def speedup(self) -> float:
        chosen = self.chosen_candidate
        return chosen.speedup if chosen is not None and chosen.speedup else 1.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """The report of a plan file (JSON has no infinity: null PSNRs are identical
        outputs); raises TypeError or ValueError for one that is not shaped like a report."""
        candidates = tuple(
            Candidate(**{**c, "rules": tuple(c["rules"]), "worst_psnr": _psnr(c)})
            for c in data["candidates"]
        )
        chosen = data["chosen"]
        if chosen is not None and not (isinstance(chosen, int) and 0 <= chosen < len(candidates)):
            raise ValueError(f"chosen candidate {chosen!r} is not in the report")
        envelope = tuple(str(line) for line in data.get("envelope", ()))
        return cls(**{**data, "candidates": candidates, "envelope": envelope})


def _psnr(candidate: dict[str, Any]) -> float | None:
    """A candidate's worst PSNR from a plan file: null is identical outputs (JSON has no
    infinity) where errors were measured, nothing compared where they were not."""
    psnr = candidate["worst_psnr"]
    if psnr is None and candidate.get("max_abs") is not None:
        return math.inf
    return psnr


def _with_path(exc: Exception, path: str) -> Exception:
    """The same exception class, with the file named in its message."""
    path = os.fsdecode(path)
    if path in str(exc):
        return exc
    try:
        if isinstance(exc, OSError) and exc.errno is not None:
            renamed = type(exc)(exc.errno, exc.strerror, path)
        else:
            renamed = type(exc)(f"{path}: {exc}")
    except Exception:  # a class whose constructor wants other arguments
        exc.add_note(f"while reading {path}")
        return exc
    renamed.__cause__ = exc
    return renamed


class PipelineChangedError(RuntimeError):
    """The pipeline object was changed after its plan was made: the plan would run what
    was verified, not what the pipeline now says. The message names what changed."""


def watch(pipeline: LogicalPipeline) -> Watch:
    """A watch on the pipeline's settings; its opaque ops are called as written, so only
    their identity counts."""
    return Watch(pipeline.original, [op.transform for op in pipeline.ops if op.opaque])


class PlanTransform:
    """The drop-in transform: accepts what the original did, plus `LazyImage`s. It
    refuses to run once its pipeline object changed (`PipelineChangedError`)."""

    def __init__(
        self,
        pipeline: LogicalPipeline,
        physical: PhysicalPlan | None,
        decoded: PhysicalPlan | None | object = _SAME,
        envelope: Envelope | None = None,
        decoded_envelope: Envelope | None = None,
    ) -> None:
        """`envelope`: where `physical` was verified (None: run it everywhere, as the
        verifier does); `decoded_envelope` likewise for `decoded`."""
        self.pipeline = pipeline
        self.executor = Executor(pipeline, physical, envelope) if physical is not None else None
        # Images the caller decoded: `decoded` (None: the original), by default `physical`.
        if decoded is _SAME:
            self._decoded_executor = self.executor
        elif decoded is not None:
            self._decoded_executor = Executor(pipeline, decoded, decoded_envelope)
        else:
            self._decoded_executor = None
        self._warned = False
        self.watch = watch(pipeline)

    def __call__(self, *args: Any, **targets: Any) -> Any:
        """`transform(image)` for torchvision, `transform(image=...)` for albumentations."""
        if (changed := self.watch.changes()) is not None:
            raise PipelineChangedError(
                f"the pipeline changed after it was planned ({changed}); this plan runs "
                "what was verified then, not what the pipeline says now: re-run "
                "reorder.optimize (or `reorder plan`) for the pipeline as it is"
            )
        keyword = self.pipeline.keyword
        if keyword is None:
            if len(args) != 1 or targets:
                return self._unplanned(args, targets, f"{len(args) + len(targets)} inputs")
            if isinstance(args[0], (tuple, list, dict)):  # v2's structured inputs
                return self._unplanned(args, {}, f"a {type(args[0]).__name__} of inputs")
            return self._image(args[0])
        if args:  # as albumentations says for positional data
            raise KeyError(
                "You have to pass data to augmentations as named arguments, for example: "
                f"transform({keyword}=image)"
            )
        if set(targets) != {keyword}:
            extra = sorted(set(targets) - {keyword})
            return self._unplanned((), targets, f"target(s) {extra}")
        return {keyword: self._image(targets[keyword])}

    def _image(self, image: Any) -> Any:
        lazy = isinstance(image, LazyImage)
        executor = self.executor if lazy else self._decoded_executor
        try:
            if executor is not None:
                return executor(image)
            loaded = LOADERS[self.pipeline.loader](image.path) if lazy else image
            return self.pipeline.call(self.pipeline.original, loaded)
        except Exception as exc:
            if lazy:  # the original plan included: the error names the file
                raise _with_path(exc, image.path) from exc.__cause__
            raise

    def _unplanned(self, args: tuple[Any, ...], targets: dict[str, Any], what: str) -> Any:
        """A call with more than the image (boxes, masks): the original runs, on the
        image read by the reference loader, and says so once where it accepts the call."""
        paths: list[str] = []
        args, targets = self._loaded(args, paths), self._loaded(targets, paths)
        try:
            output = self.pipeline.original(*args, **targets)
        except Exception as exc:
            if len(paths) == 1:  # the error names the file, as on the image alone
                raise _with_path(exc, paths[0]) from exc.__cause__
            raise
        if self.executor is not None and not self._warned:
            self._warned = True
            warnings.warn(
                f"reorder plans calls on the image alone; calls with {what} are not planned "
                "yet, so they run the original pipeline (same result, original speed)",
                stacklevel=3,
            )
        return output

    def _loaded(self, inputs: Any, paths: list[str]) -> Any:
        """`inputs` (a tuple, list or dict, and those in it) with each `LazyImage` read by
        the reference loader; their paths are added to `paths`."""
        if isinstance(inputs, LazyImage):
            paths.append(inputs.path)
            try:
                return LOADERS[self.pipeline.loader](inputs.path)
            except Exception as exc:
                raise _with_path(exc, inputs.path) from exc.__cause__
        if isinstance(inputs, dict):
            return {key: self._loaded(value, paths) for key, value in inputs.items()}
        if isinstance(inputs, (tuple, list)):
            loaded = [self._loaded(value, paths) for value in inputs]
            return loaded if isinstance(inputs, list) else tuple(loaded)
        return inputs

    def __repr__(self) -> str:
        return f"PlanTransform({self.pipeline.original!r})"


class Plan:
    """What `reorder.optimize` returns. Call it on a path, or use `.loader`/`.transform`.

    `physical` runs on files (paths, `LazyImage`s); `decoded` on PIL images the user
    decoded, where no reduced decode helps: the planner picks it separately (None: the
    original). By default it is `physical`.
    """

    def __init__(
        self,
        pipeline: LogicalPipeline,
        physical: PhysicalPlan | None,
        report: Report,
        decoded: PhysicalPlan | None | object = _SAME,
        envelope: Envelope | None = None,
        decoded_envelope: Envelope | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.physical = physical
        self.decoded = physical if decoded is _SAME else decoded
        # Where each was verified: outside it, a segment runs the original's kernels.
        self.envelope = envelope
        self.decoded_envelope = envelope if decoded is _SAME else decoded_envelope
        self.report = report
        self.transform = PlanTransform(
            pipeline, physical, self.decoded, self.envelope, self.decoded_envelope
        )
        # Where the transform can be imported from ("module:attribute"), when known: the
        # CLI records it in the plan file so that `reorder bench` can find it again.
        self.source: str | None = None
        # The images it was planned on (set by `optimize`), for `show_samples`.
        self.sample_paths: list[str] = []

    @staticmethod
    def loader(path: str | os.PathLike) -> LazyImage:
        """`ImageFolder`-compatible loader: a lazy image that `transform` decodes."""
        return LazyImage(path)

    def __call__(self, path: str | os.PathLike) -> Any:
        """The original's output for the image at `path`, read by the reference loader
        (for albumentations, its dict: `{"image": ...}`)."""
        return self.pipeline.invoke(self.transform, LazyImage(path))

    @property
    def speedup(self) -> float:
        return self.report.speedup

    @property
    def chosen(self) -> Candidate | None:
        return self.report.chosen_candidate

    def describe(self) -> str:
        """The chosen pipeline in one line."""
        if self.physical is None:
            return "the original pipeline, as written"
        return self.physical.describe([op.name for op in self.pipeline.ops])

    def __repr__(self) -> str:
        return f"<reorder.Plan {self.speedup:.2f}x: {self.describe()}>"

    def __str__(self) -> str:
        from reorder.report import format_report

        return format_report(self.report, self.describe())

    def explain(self) -> str:
        from reorder.report import explain

        return explain(self)

    def to_code(self) -> str:
        """The chosen plan as a readable Python module: `make_transform(original)` returns
        a function of a path doing what the plan does, one step per line."""
        from reorder.codegen import plan_source

        return plan_source(self)

    def _repr_html_(self) -> str:
        from reorder.report import report_html

        return report_html(self.report, self.describe())

    def plot(self) -> Any:
        """A matplotlib figure: each timed candidate's ms/image, its worst PSNR, the
        original's time; accepted ones green, the chosen one outlined."""
        from reorder.plots import candidates_chart

        return candidates_chart(self)

    def show_samples(
        self,
        paths: Iterable[str | os.PathLike] | None = None,
        seeds: Iterable[int] = (0, 1),
        amplify: float = 10.0,
    ) -> Any:
        """A matplotlib figure: original output, plan output and their difference times
        `amplify`, per image (default: two of the planning samples) and seed."""
        from reorder.plots import samples_grid

        chosen = list(paths) if paths is not None else self.sample_paths[:2]
        if not chosen:
            raise ValueError("show_samples: pass paths= (this plan was loaded, not planned)")
        return samples_grid(self, chosen, tuple(seeds), amplify)

    # -- files ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "schema": SCHEMA_VERSION,
            "versions": library_versions(),
            "fingerprint": self.pipeline.fingerprint(),
            "loader": self.pipeline.loader,
            "source": self.source,
            "pipeline": [op.name for op in self.pipeline.ops],
            "settings": self.transform.watch.settings,
            "physical": self.physical.to_dict() if self.physical is not None else None,
            "decoded": self.decoded.to_dict() if self.decoded is not None else None,
            "envelope": _envelope_dict(self.envelope),
            "decoded_envelope": _envelope_dict(self.decoded_envelope),
            "report": _finite(asdict(self.report)),
        }

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")


def _envelope_dict(envelope: Envelope | None) -> dict[str, Any] | None:
    return envelope.to_dict() if envelope is not None else None


def _read_envelope(data: dict[str, Any], key: str, physical: Any, path: str) -> Envelope | None:
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


def _finite(value: Any) -> Any:
    """JSON has no infinity: an infinite PSNR (identical output) is stored as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class PlanFileError(ValueError):
    """A plan file that cannot be used with this pipeline; the message says why."""


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
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise PlanFileError(f"{path}: not a reorder plan file")
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or schema > SCHEMA_VERSION:
        raise PlanFileError(f"{path}: plan schema {schema!r} is newer than this reorder reads")
    return data


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
    from reorder.frontends import parse
    from reorder.planner import reverify

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
    physical = _read_physical(data.get("physical"), pipeline, path)
    # Files written before the planner chose for decoded images ran `physical` on them.
    decoded = _read_physical(data["decoded"], pipeline, path) if "decoded" in data else physical
    envelope = _read_envelope(data, "envelope", physical, path)
    decoded_envelope = _read_envelope(
        data, "decoded_envelope" if "decoded" in data else "envelope", decoded, path
    )
    versions = data.get("versions")
    if versions != library_versions():
        warnings.warn(
            f"{path} was measured with {versions}, this process runs {library_versions()}; "
            "pass verify=<sample images> to check it again, or re-run reorder.optimize",
            stacklevel=2,
        )
    report = replace(_saved_report(data), loaded_from=path)
    plan = Plan(pipeline, physical, report, decoded, envelope, decoded_envelope)
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
    from reorder.measure.verify import TOLERANCES

    report = data.get("report")
    tolerance = report.get("tolerance") if isinstance(report, dict) else None
    return tolerance if isinstance(tolerance, str) and tolerance in TOLERANCES else "exact"


def _planned_decoded_why(data: dict[str, Any]) -> str:
    report = data.get("report")
    why = report.get("decoded_why") if isinstance(report, dict) else None
    return why if isinstance(why, str) else ""


def _read_physical(raw: Any, pipeline: LogicalPipeline, path: str) -> PhysicalPlan | None:
    """A physical plan of a plan file (None: the original), checked to be one this
    version's rules build for `pipeline`; raises PlanFileError otherwise."""
    from reorder.search import reachable_keys

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
