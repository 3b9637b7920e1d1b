"""The chosen plan: a drop-in transform and loader, and its report.

Presentation (`reorder.present`: the text and HTML report, plots, generated code) sits on
top of this module and registers its views in `reorder.views`; a plan never imports it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from types import UnionType
from typing import Any, get_args, get_origin, get_type_hints

from reorder.ir import Envelope, LogicalPipeline, PhysicalPlan
from reorder.measure.balance import BalanceReport, FileImages, balance
from reorder.measure.steps import StepProfile, time_steps
from reorder.measure.verify import TOLERANCES
from reorder.planfile import contents as plan_file_contents
from reorder.planfile import write as write_plan_file
from reorder.runtime.sources import LazyImage
from reorder.runtime.transform import SAME_PLAN, PlanTransform
from reorder.views import view


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
            _typed(Candidate, {**c, "rules": tuple(c["rules"]), "worst_psnr": _psnr(c)})
            for c in data["candidates"]
        )
        envelope = tuple(str(line) for line in data.get("envelope", ()))
        report = _typed(cls, {**data, "candidates": candidates, "envelope": envelope})
        if report.tolerance not in TOLERANCES:
            raise ValueError(f"unknown tolerance {report.tolerance!r}")
        if report.chosen is not None and not 0 <= report.chosen < len(candidates):
            raise ValueError(f"chosen candidate {report.chosen!r} is not in the report")
        return report


def _typed(cls: type, values: dict[str, Any]) -> Any:
    """`cls(**values)`, a report dataclass read from a file, after checking that each
    value is of its field's declared type; TypeError otherwise."""
    hints = _FIELD_TYPES[cls]
    for name, value in values.items():
        if name in hints and not _is_a(value, hints[name]):
            raise TypeError(f"a report's {name!r} must be {hints[name]}, not {value!r}")
    return cls(**values)


def _is_a(value: Any, hint: Any) -> bool:
    if get_origin(hint) is UnionType:
        return any(_is_a(value, option) for option in get_args(hint))
    if get_origin(hint) is tuple:  # tuple[X, ...]
        return isinstance(value, tuple) and all(_is_a(v, get_args(hint)[0]) for v in value)
    if hint is float:  # JSON writes 2.0 as 2.0 but a hand edit may write 2
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


# Resolved once, on import: `get_type_hints` evaluates the annotations' text, and reading
# a plan file compiles nothing.
_FIELD_TYPES = {cls: get_type_hints(cls) for cls in (Candidate, Report)}


def _psnr(candidate: dict[str, Any]) -> float | None:
    """A candidate's worst PSNR from a plan file: null is identical outputs (JSON has no
    infinity) where errors were measured, nothing compared where they were not."""
    psnr = candidate["worst_psnr"]
    if psnr is None and candidate.get("max_abs") is not None:
        return math.inf
    return psnr


def _files(samples: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """Image files given as one path or several; each must be a file."""
    single = isinstance(samples, (str, os.PathLike))
    paths = [os.fspath(samples)] if single else [os.fspath(p) for p in samples]
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such file")
    return paths


class Plan:
    """What `reorder.optimize` returns. Call it on a path, or use `.loader`/`.transform`.

    `physical` runs on files (paths, `LazyImage`s); `physical_for_images` on PIL images
    the user decoded, where no reduced decode helps: the optimizer picks it separately
    (None: the original). By default it is `physical`.
    """

    def __init__(
        self,
        pipeline: LogicalPipeline,
        physical: PhysicalPlan | None,
        report: Report,
        physical_for_images: PhysicalPlan | None | object = SAME_PLAN,
        envelope: Envelope | None = None,
        envelope_for_images: Envelope | None = None,
    ) -> None:
        same = physical_for_images is SAME_PLAN
        self.pipeline = pipeline
        self.physical = physical
        self.physical_for_images = physical if same else physical_for_images
        # Where each was verified: outside it, a segment runs the original's kernels.
        self.envelope = envelope
        self.envelope_for_images = envelope if same else envelope_for_images
        self.report = report
        self.transform = PlanTransform(
            pipeline, physical, self.physical_for_images, envelope, self.envelope_for_images
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
        return view(self, "text")(self)

    def explain(self) -> str:
        """Each stage of the chosen plan and each rule that made it, with why it holds."""
        return view(self, "explain")(self)

    def to_code(self) -> str:
        """The chosen plan as a readable Python module: `make_transform(original)` returns
        a function of a path doing what the plan does, one step per line."""
        return view(self, "code")(self)

    def _repr_html_(self) -> str:
        return view(self, "html")(self)

    def plot(self) -> Any:
        """A matplotlib figure: each timed candidate's ms/image, its worst PSNR, the
        original's time; accepted ones green, the chosen one outlined."""
        return view(self, "plot")(self)

    def show_samples(
        self,
        paths: Iterable[str | os.PathLike] | None = None,
        seeds: Iterable[int] = (0, 1),
        amplify: float = 10.0,
    ) -> Any:
        """A matplotlib figure: original output, plan output and their difference times
        `amplify`, per image (default: two of the planning samples) and seed."""
        chosen = list(paths) if paths is not None else self.sample_paths[:2]
        if not chosen:
            raise ValueError("show_samples: pass paths= (this plan was loaded, not planned)")
        return view(self, "samples")(self, chosen, tuple(seeds), amplify)

    def profile(
        self,
        samples: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
        repeats: int = 5,
    ) -> StepProfile:
        """Where the time goes, step by step, in the original and in this plan, on
        `samples` (default: the files it was planned on); `print` it, or `.plot()` it."""
        paths = _files(samples) if samples is not None else self.sample_paths
        if not paths:
            raise ValueError("profile: pass samples= (this plan was loaded, not planned)")
        return time_steps(self.pipeline, self.physical, self.envelope, paths, repeats)

    def balance(
        self,
        samples: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
        batch_size: int = 32,
        step: Callable[[Any], Any] | None = None,
        images_per_s: float | None = None,
        workers: Sequence[int] | None = None,
        batches: int = 10,
        repeats: int = 3,
    ) -> BalanceReport:
        """How many DataLoader workers keep the model fed, for the original and for this
        plan, on `samples` (default: the files it was planned on): what each count
        delivers against the training `step`'s demand (or `images_per_s`); `print` it for
        the recommendation, `.plot()` for the picture. See `reorder.balance`."""
        paths = _files(samples) if samples is not None else self.sample_paths
        if not paths:
            raise ValueError("balance: pass samples= (this plan was loaded, not planned)")
        pipeline, length = self.pipeline, (batches + 2) * batch_size
        datasets = {
            "original": FileImages(
                paths, pipeline.original, pipeline.loader, pipeline.keyword, length
            ),
            "plan": FileImages(paths, self.transform, None, pipeline.keyword, length),
        }
        return balance(datasets, batch_size, step, images_per_s, workers, batches, 2, repeats)

    # -- files ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The plan file's content (see `reorder.planfile`)."""
        return plan_file_contents(
            self.pipeline,
            self.source,
            self.transform.watch.settings,
            (self.physical, self.envelope),
            (self.physical_for_images, self.envelope_for_images),
            asdict(self.report),
        )

    def save(self, path: str | os.PathLike) -> None:
        write_plan_file(self.to_dict(), path)
