"""`reorder.optimize`: parse, enumerate, rank, verify and time, choose."""

from __future__ import annotations

import functools
import json
import math
import numbers
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm  # text bars everywhere: tqdm.auto warns in Jupyter without ipywidgets

from reorder.frontends import hint, parse
from reorder.ir import Envelope, ImageSpec, LogicalPipeline, PhysicalPlan
from reorder.measure.cost import calibrated
from reorder.measure.cover import (
    copies_at,
    cover_images,
    header_sizes,
    neighbour_sizes,
    spread_sizes,
)
from reorder.measure.steps import StepProfile, time_steps
from reorder.measure.timing import time_interleaved
from reorder.measure.verify import (
    TOLERANCES,
    Outcome,
    Verification,
    compare,
    digest,
    output_units,
    run_coupled,
)
from reorder.ops.decode import LOADERS, jpeg_size
from reorder.plan import Candidate, Plan, Report
from reorder.rng import preserved_rng
from reorder.rules import APPROXIMATE_RULE_NAMES, EXACT_RULES, RULES
from reorder.runtime import LazyImage
from reorder.runtime.transform import PlanTransform
from reorder.search import as_written, enumerate_plans
from reorder.views import counted

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
# A candidate must beat the original by this much to count: below it, timing noise.
MIN_SPEEDUP = 1.03
# Timing uses at most this many samples (evenly spread) and, without a time budget, stops
# adding repeats after this many seconds: all samples are still verified.
MAX_TIMED_SAMPLES = 8
DEFAULT_TIMING_S = 20.0
# What plan.transform runs on images the user decoded: this many plans (cheapest first by
# the cost model) are timed once on one decoded sample, and the fastest few of them are
# verified and timed on this many.
DECODED_SCREENED = 12
DECODED_CANDIDATES = 3
DECODED_SAMPLES = 4
# The worst PSNR on the samples estimates the worst on other images; a candidate built
# with approximate rules must clear its tolerance by this much on the samples, so one
# that barely passes there does not fall short on the next image.
APPROXIMATION_MARGIN_DB = 3.0
# The chosen plan is verified on up to this many more seeds, for at most this long: its
# envelope then holds more of the geometry random ops draw (see `_widen`).
WIDEN_SEEDS = 8
WIDEN_S = 15.0
# ... and on copies at up to this many of the dataset's sizes, spread over its range.
WIDEN_SIZES = 24


def sample_paths(samples: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """The image files to plan on: a list of paths, or every image under a directory."""
    if isinstance(samples, (str, os.PathLike)):
        root = Path(samples)
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such file or directory")
        if root.is_dir():
            paths = sorted(
                str(p)
                for p in root.rglob("*")
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            )
            if not paths:
                raise ValueError(f"{root}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
            return paths
        return [str(root)]
    if not isinstance(samples, Iterable) or isinstance(samples, bytes):
        raise TypeError(
            f"expected image paths or a directory, got {type(samples).__name__} {samples!r}"
        )
    paths = [os.fspath(p) for p in samples]
    if not paths:
        raise ValueError("samples: give at least one image path")
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p}: no such file")
    return paths


# A directory of more files than this is planned on this many, spread over its folders
# (an ImageFolder's classes); every file's header still gives the sizes to verify on.
SAMPLE_CAP = 24


def spread_over_folders(paths: Sequence[str], cap: int) -> list[str]:
    """At most `cap` of `paths`: as many from each folder as the cap allows, taken turn by
    turn, and within a folder evenly spaced over its sorted files."""
    folders: dict[str, list[str]] = {}
    for path in sorted(paths):
        folders.setdefault(os.path.dirname(path), []).append(path)
    counts = dict.fromkeys(folders, 0)
    while sum(counts.values()) < min(cap, len(paths)):
        for folder, files in folders.items():
            if counts[folder] < len(files) and sum(counts.values()) < cap:
                counts[folder] += 1
    return [
        files[(j * len(files)) // counts[folder]]
        for folder, files in folders.items()
        for j in range(counts[folder])
    ]


def _fast_jpeg(path: str, loader: str) -> bool:
    with open(path, "rb") as f:
        return jpeg_size(f.read(), loader) is not None


def _spec_of_file(path: str, kind: str) -> ImageSpec | None:
    try:
        with Image.open(path) as img:
            return ImageSpec(img.width, img.height, kind=kind)
    except Exception:
        return None  # the verifier will see what the original does with it


def reference_call(pipeline: LogicalPipeline) -> Callable[[str], Any]:
    """The original on a path, as its users call it: the frontend's reference loader, then
    the transform (for albumentations, `original(image=...)`, which returns a dict)."""
    load = LOADERS[pipeline.loader]
    return lambda path: pipeline.invoke(pipeline.original, load(path))


def candidate_call(
    pipeline: LogicalPipeline,
    plan: PhysicalPlan | None,
    envelope: Envelope | None = None,
    record_into: Envelope | None = None,
) -> Callable[[Any], Any]:
    """A plan on a lazy image (or a decoded one), with the same call convention and
    result as `reference_call`; guarded by `envelope`, or recording into `record_into`."""
    transform = PlanTransform(pipeline, plan, envelope=envelope)
    if transform.executor is not None:
        transform.executor.record_into = record_into
    return lambda image: pipeline.invoke(transform, image)


@dataclass(frozen=True)
class Recheck:
    """A plan verified again, by the planner's own acceptance rule."""

    verification: Verification
    samples: int
    seeds: int
    verdict: str  # "holds", "holds by less than the margin" or "broken"
    worst: str  # the image and seed of the worst sample ("" when all were identical)

    def describe(self) -> str:
        v = self.verification
        error = v.problem or f"worst PSNR {v.worst_psnr:.1f} dB, max |err| {v.max_abs:.1f}"
        if v.problem is None and v.compared == 0:
            error = "nothing to compare: the original raised on every one, and so did the plan"
        where = f" at {self.worst}" if self.worst else ""
        images, seeds = counted(self.samples, "image"), counted(self.seeds, "seed")
        return f"{self.verdict} on {images} x {seeds} ({error}{where})"


def reverify(
    plan: Plan,
    samples: str | os.PathLike | Iterable[str | os.PathLike],
    seeds: Sequence[int] = (0, 1),
) -> Recheck:
    """A plan against its original on `samples` under `seeds`, run as users run it
    (inside its envelope as planned, outside it on the exact path), judged by the rule
    `optimize` applied: its tolerance, with the approximation margin."""
    paths = sample_paths(samples)
    pipeline, generators = plan.pipeline, plan.pipeline.generators
    original = reference_call(pipeline)
    run = candidate_call(pipeline, plan.physical, plan.envelope)
    with preserved_rng(generators, devices=True):
        references = [run_coupled(original, p, s, generators) for p in paths for s in seeds]
        outcomes = [run_coupled(run, LazyImage(p), s, generators) for p in paths for s in seeds]
    verification = compare(references, outcomes, output_units(pipeline, references))
    tolerance = plan.report.tolerance
    margin = _margin(plan.physical) if plan.physical is not None else 0.0
    return Recheck(
        verification,
        len(paths),
        len(seeds),
        verification.verdict(tolerance, margin),
        _where(verification, _runs(paths, seeds)),
    )


def _runs(paths: Sequence[str], seeds: Sequence[int]) -> list[tuple[str, int]]:
    """The (image, seed) of each outcome, in the order they are run: path-major."""
    return [(p, s) for p in paths for s in seeds]


def _where(verification: Verification, runs: Sequence[tuple[str, int]]) -> str:
    """The image and seed of a verification's worst outcome."""
    index = verification.worst_index
    if index is None or index >= len(runs):
        return ""
    path, seed = runs[index]
    return f"{Path(path).name} seed {seed}"


def optimize(
    transform: Any,
    samples: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    tolerance: str = "close",
    loader: str | None = None,
    dataset: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    time_budget: float | None = None,
    seeds: int = 2,
    max_timed: int = 6,
    repeats: int = 5,
    progress: bool = True,
) -> Plan:
    """Find the fastest plan equivalent to `transform` on `samples`, within `tolerance`.

    `samples`: image paths, or a directory (of more than `SAMPLE_CAP` files, that many
    spread over its folders are planned on, and all of them are the `dataset`).
    `tolerance`: "exact", "close" (worst sample >= 35 dB PSNR) or "fast" (>= 30 dB).
    `loader`: how the original's images are read, which decides what the plan must
    reproduce: "pil" (`ImageFolder`'s default, for torchvision), "torchvision.io" (v2
    pipelines on uint8 tensors from `decode_image`), "cv2" (albumentations); the
    frontend's usual one when None. `dataset`: the files (or a directory) the plan will
    run on, whose headers give the range of sizes and aspects to verify over (default:
    the samples); a segment meeting an input outside what was verified runs the
    original's own kernels. `time_budget`: seconds for the whole search, honoured by
    cutting timing repeats and candidates. Returns a `Plan`; if nothing is both faster
    and equivalent, the plan runs the original pipeline and says why.
    """
    # Past 50 lines by its docstring, the public reference of `reorder.optimize`.
    _check_arguments(tolerance, time_budget)
    started = time.perf_counter()
    deadline = started + time_budget if time_budget is not None else None
    paths = sample_paths(samples)
    folder = isinstance(samples, (str, os.PathLike)) and Path(samples).is_dir()
    if folder and len(paths) > SAMPLE_CAP:
        every = paths
        dataset = every if dataset is None else dataset
        paths = spread_over_folders(every, SAMPLE_CAP)
        if progress:
            print(
                f"reorder: planning on {len(paths)} of the {len(every)} files under "
                f"{samples}, spread over its folders (pass a list of paths to choose); "
                "every file's header gives the sizes to verify on"
            )
    dataset_paths = sample_paths(dataset) if dataset is not None else paths
    pipeline = parse(transform, loader)
    # Planning seeds every stream for its coupled runs: the caller's come back untouched.
    with preserved_rng(pipeline.generators, devices=True):
        with tempfile.TemporaryDirectory(prefix="reorder-cover-") as folder:
            sizes = header_sizes(dataset_paths)
            cover = cover_images(paths, sizes, folder)
            # The chosen plan is verified on more of the dataset's sizes, made on demand;
            # known only by its samples, on sizes near theirs.
            spread = spread_sizes(sizes, WIDEN_SIZES)
            if dataset is None:
                spread += neighbour_sizes(spread)
            more = functools.partial(copies_at, paths, spread, folder)
            search = _Search(
                pipeline,
                paths,
                cover,
                more,
                len(sizes) if dataset is not None else None,
                tolerance,
                list(range(seeds)),
                max_timed,
                repeats,
                started,
                deadline,
            )
            return _optimize(search, progress)


def profile(
    transform: Any,
    samples: str | os.PathLike | Iterable[str | os.PathLike],
    loader: str | None = None,
    repeats: int = 5,
) -> StepProfile:
    """Where the original pipeline's time goes on `samples` (paths or a directory): the
    read, the decode and each op, in ms per image. For a plan's stages beside them,
    `plan.profile()`. `print` the result for a table, `.plot()` for a chart."""
    return time_steps(parse(transform, loader), None, None, sample_paths(samples), repeats)


def _check_arguments(tolerance: str, time_budget: Any) -> None:
    if tolerance not in TOLERANCES:
        raise ValueError(f"tolerance must be one of {sorted(TOLERANCES)}, not {tolerance!r}")
    if time_budget is not None and not _positive_seconds(time_budget):
        raise ValueError(
            "time_budget must be a positive number of seconds (None: no limit), "
            f"not {time_budget!r}"
        )


def _positive_seconds(value: Any) -> bool:
    """Whether `value` is a positive, finite number of seconds (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return 0 < float(value) < math.inf
    except OverflowError:  # an int too large for a float
        return False


@dataclass(frozen=True)
class _Search:
    """What one call of `optimize` searches with."""

    pipeline: LogicalPipeline
    paths: list[str]  # the samples
    cover: list[str]  # copies of them cut to the dataset's extreme sizes
    more: Callable[[], Iterable[str]]  # more copies, made on demand, to widen the chosen
    headers: int | None  # how many dataset headers gave the sizes (None: the samples')
    tolerance: str
    seed_list: list[int]
    max_timed: int
    repeats: int
    started: float
    deadline: float | None

    @property
    def checked(self) -> list[str]:
        return self.paths + self.cover

    def over_budget(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline


@dataclass(frozen=True)
class _Measured:
    """The candidates' verification and timing."""

    references: list[Outcome]
    verdicts: dict[PhysicalPlan, Verification]
    envelopes: dict[PhysicalPlan, Envelope]
    timed: dict[PhysicalPlan, float]
    original_ms: float | None
    per_sample_ms: list[float]
    timable: list[str]  # the samples the original processes (not only raises on)
    cut_short: bool  # whether the budget, not the candidates, ended the verification


def _optimize(search: _Search, progress: bool) -> Plan:
    pipeline, tolerance = search.pipeline, search.tolerance
    ranked, estimates = rank(pipeline, search.paths, tolerance)
    measured = _measure(search, ranked, progress)
    runs = _runs(search.checked, search.seed_list)
    candidates = [
        _candidate(plan, pipeline, estimates[plan], verdict, measured, tolerance, runs)
        for plan, verdict in measured.verdicts.items()
    ]
    chosen = _widen_chosen(
        pipeline,
        measured.verdicts,
        candidates,
        measured.envelopes,
        search.checked,
        search.more,
        search.seed_list,
        tolerance,
        output_units(pipeline, measured.references),
        search.deadline,
    )
    physical = list(measured.verdicts)[chosen] if chosen is not None else None
    envelope = measured.envelopes.get(physical) if physical is not None else None
    raised, first_error = _raised(measured.references, runs, search.paths)
    if physical is not None:
        accepted = sum(c.accepted for c in candidates)
        why = f"fastest of {accepted} equivalent candidates within '{tolerance}'"
    else:
        error = first_error if not measured.timable else ""
        why = _why_original(candidates, tolerance, error, pipeline)
    if measured.cut_short:
        why = _budget_note(search, why, len(measured.verdicts), len(ranked))
    for_images = _for_images(search, ranked, measured, physical, envelope)
    report = Report(
        tolerance,
        measured.original_ms,
        len(search.paths),
        len(search.seed_list),
        tuple(candidates),
        chosen,
        why,
        time.perf_counter() - search.started,
        _spread(search.paths, pipeline.input_kind, measured.per_sample_ms),
        for_images[2],
        (_covered(search), *(envelope.describe() if envelope is not None else ())),
        raised,
    )
    plan = Plan(pipeline, physical, report, for_images[0], envelope, for_images[1])
    plan.sample_paths = search.paths
    return plan


def _for_images(
    search: _Search,
    ranked: list[PhysicalPlan],
    measured: _Measured,
    physical: PhysicalPlan | None,
    envelope: Envelope | None,
) -> tuple[PhysicalPlan | None, Envelope | None, str]:
    """What runs on PIL images the user decoded, where it was verified, and why."""
    if physical is None or search.pipeline.input_kind != "pil" or not measured.timable:
        return physical, envelope, ""
    return _decoded_plan(
        search.pipeline,
        ranked,
        measured.timable,
        search.cover,
        search.seed_list,
        search.tolerance,
        search.repeats,
        search.deadline,
    )


def _measure(search: _Search, ranked: list[PhysicalPlan], progress: bool) -> _Measured:
    """Verify the ranked candidates until `max_timed` pass, then time those that did."""
    pipeline, tolerance, seeds = search.pipeline, search.tolerance, len(search.seed_list)
    bar = tqdm(total=search.max_timed + 2, desc="reorder", disable=not progress, leave=False)
    bar.set_postfix_str(f"{len(ranked)} candidates generated; reference outputs")
    references, verdicts, envelopes = verify_candidates(
        pipeline,
        ranked,
        search.checked,
        search.seed_list,
        tolerance,
        search.max_timed,
        search.deadline,
        bar,
    )
    cut_short = search.over_budget()
    passing = [p for p in verdicts if verdicts[p].within(tolerance, _margin(p))]
    # Time only what the original processes: an error path says nothing about speed.
    # (a sample that raises under some seeds is timed: its error path is the same in all)
    timable = [
        p
        for i, p in enumerate(search.paths)
        if not all(r.error for r in references[i * seeds : (i + 1) * seeds])
    ]
    bar.set_postfix_str(f"timing {len(passing)} candidates")
    original = reference_call(pipeline)
    timed, original_ms, per_sample_ms = _time(
        pipeline, original, passing, envelopes, timable, search.repeats, search.deadline
    )
    bar.update(1)
    bar.close()
    return _Measured(
        references, verdicts, envelopes, timed, original_ms, per_sample_ms, timable, cut_short
    )


def _budget_note(search: _Search, why: str, verified: int, ranked: int) -> str:
    budget = f"the time budget ({search.deadline - search.started:g} s)"
    if not verified:
        return (
            f"{budget} ended the search before any of the {ranked} candidates was verified: "
            "a larger one may find a faster plan"
        )
    return (
        f"{why}; {budget} ended the search after verifying {verified} of {ranked} "
        "candidates: a larger one may find a faster plan"
    )


def _covered(search: _Search) -> str:
    """What verification covered, for the report."""
    among = (
        f"among the dataset's {search.headers} file headers"
        if search.headers is not None
        else "among theirs (no dataset= given: other sizes may run at the original's speed)"
    )
    copies = f"{counted(len(search.cover), 'copy', 'copies')} of them cut to the extreme sizes"
    return f"{counted(len(search.paths), 'sample')} and {copies} {among}"


def rank(
    pipeline: LogicalPipeline, paths: list[str], tolerance: str
) -> tuple[list[PhysicalPlan], dict[PhysicalPlan, float]]:
    """Every plan the rules reach (but the as-written one), cheapest estimate first."""
    # An approximate rewrite is only verified where the samples exercise it; under
    # "exact" nothing unverified may slip through on other images, so none is used.
    rules = EXACT_RULES if tolerance == "exact" else RULES
    plans = enumerate_plans(pipeline, rules)
    # Where the fast decoder would never run on the samples, it would be untested.
    if not any(_fast_jpeg(p, pipeline.loader) for p in paths):
        plans = [p for p in plans if not p.fast_decode]
    baseline = as_written(pipeline)
    kind = pipeline.input_kind
    specs = [s for p in paths if (s := _spec_of_file(p, kind)) is not None]
    model = calibrated()
    estimates = {p: model.estimate_ms(p, pipeline, specs) for p in plans if p != baseline}
    ranked = sorted(estimates, key=lambda p: (estimates[p], _approximations(p)))
    # The decode term dominates the estimate and is its least certain one (calibrated on
    # one small image, blind to crops): the cheapest plan of each decode choice comes
    # first, so that every choice is verified and timed rather than guessed between;
    # and the cheapest of exact rules alone, which holds wherever approximate ones fail.
    cheapest = list({p.decode: p for p in reversed(ranked)}.values())[::-1]
    exact = [p for p in ranked if not _approximations(p)][:1]
    front = list(dict.fromkeys(cheapest + exact))
    return front + [p for p in ranked if p not in front], estimates


def verify_candidates(
    pipeline: LogicalPipeline,
    ranked: list[PhysicalPlan],
    paths: list[str],
    seeds: list[int],
    tolerance: str,
    max_timed: int,
    deadline: float | None = None,
    bar: Any = None,
) -> tuple[list[Outcome], dict[PhysicalPlan, Verification], dict[PhysicalPlan, Envelope]]:
    """The original's outcomes on `paths` x `seeds` (the samples, then the copies cut to
    the dataset's extreme sizes); then candidates verified in rank order until
    `max_timed` distinct ones pass `tolerance` (a failing one does not use up a timing
    slot: cheap candidates often share the rewrite that failed), each with the envelope
    its runs covered."""
    bar = bar if bar is not None else tqdm(disable=True)
    generators = pipeline.generators
    original = reference_call(pipeline)
    references = [run_coupled(original, p, s, generators) for p in paths for s in seeds]
    bar.update(1)
    units = output_units(pipeline, references)
    verdicts: dict[PhysicalPlan, Verification] = {}
    envelopes: dict[PhysicalPlan, Envelope] = {}
    computed: dict[str, PhysicalPlan] = {}
    for attempt, plan in enumerate(ranked):
        out_of_time = deadline is not None and time.perf_counter() > deadline
        passing = sum(v.within(tolerance, _margin(p)) for p, v in verdicts.items())
        if passing == max_timed or attempt == 3 * max_timed or out_of_time:
            break
        envelope = Envelope()
        run = candidate_call(pipeline, plan, record_into=envelope)
        outcomes = [
            run_coupled(run, LazyImage(p), s, pipeline.generators) for p in paths for s in seeds
        ]
        # The same bits on every sample as another candidate: the samples cannot tell
        # them apart, so one relying on more approximate rewrites is unverified in what
        # it adds. Equally verified alternatives both stay, to be timed.
        key = digest(outcomes)
        same = computed.get(key)
        if same is not None and _approximations(same) < _approximations(plan):
            continue
        if same is not None and _approximations(plan) < _approximations(same):
            del verdicts[same]
        computed[key] = plan
        verdicts[plan], envelopes[plan] = compare(references, outcomes, units), envelope
        bar.set_postfix_str(f"verified {len(verdicts)}")
        bar.update(verdicts[plan].within(tolerance, _margin(plan)))
    return references, verdicts, envelopes


def _time(
    pipeline: LogicalPipeline,
    original: Callable[[str], Any],
    plans: list[PhysicalPlan],
    envelopes: dict[PhysicalPlan, Envelope],
    paths: list[str],
    repeats: int,
    deadline: float | None,
) -> tuple[dict[PhysicalPlan, float], float | None, list[float]]:
    """Mean ms/image of each plan and of the original, timed side by side; and the
    original's ms on each timed sample."""
    if not paths:
        return {}, None, []
    paths = paths[:: max(1, -(-len(paths) // MAX_TIMED_SAMPLES))]
    calls: dict[str, Callable[[Any], Any]] = {"original": original}
    arguments: dict[str, list[Any]] = {"original": paths}
    for i, plan in enumerate(plans):
        calls[str(i)] = candidate_call(pipeline, plan, envelopes[plan])
        arguments[str(i)] = [LazyImage(p) for p in paths]
    deadline = deadline or time.perf_counter() + DEFAULT_TIMING_S
    medians = time_interleaved(calls, arguments, repeats, deadline, pipeline.generators)
    ms = {name: 1000.0 * sum(m) / len(m) for name, m in medians.items()}
    per_sample = [1000.0 * m for m in medians["original"]]
    return {plan: ms[str(i)] for i, plan in enumerate(plans)}, ms["original"], per_sample


def _widen_chosen(
    pipeline: LogicalPipeline,
    verdicts: dict[PhysicalPlan, Verification],
    candidates: list[Candidate],
    envelopes: dict[PhysicalPlan, Envelope],
    inputs: list[str],
    more: Callable[[], Iterable[str]],
    seeds: list[int],
    tolerance: str,
    units: tuple[float, ...],
    deadline: float | None,
) -> int | None:
    """The chosen candidate, its envelope widened by more seeds and sizes (`_widen`); one
    that fails there is rejected (its row says so) and the next fastest is tried."""
    runs, plans = _runs(inputs, seeds), list(verdicts)
    while (chosen := _choose(candidates)) is not None:
        plan, row = plans[chosen], candidates[chosen]
        extra, extra_runs = _widen(
            pipeline, plan, envelopes[plan], inputs, more(), len(seeds), tolerance, units, deadline
        )
        if extra.samples == 0:
            return chosen
        verdict = verdicts[plan].merged(extra)
        where = _where(verdict, runs + extra_runs)
        numbers = {
            "worst_psnr": verdict.worst_psnr,
            "max_abs": verdict.max_abs,
            "mean_abs": verdict.mean_abs,
            "worst_sample": where,
        }
        if verdict.within(tolerance, _margin(plan)):
            candidates[chosen] = replace(row, **numbers)
            return chosen
        reason = f"failed on more seeds or sizes ({extra.problem or f'{extra.worst_psnr:.1f} dB'})"
        candidates[chosen] = replace(row, accepted=False, reason=reason, **numbers)
    return None


def _widen(
    pipeline: LogicalPipeline,
    plan: PhysicalPlan,
    envelope: Envelope,
    inputs: list[str],
    more: Iterable[str],
    first_seed: int,
    tolerance: str,
    units: tuple[float, ...],
    deadline: float | None,
) -> tuple[Verification, list[tuple[str, int]]]:
    """More runs for a chosen plan, each verified against the original and what it
    covered added to `envelope`, since the runtime runs only what verification saw:
    more seeds over the verification inputs, cheapest first (random geometry, crops and
    angles, meets more than two seeds draw), up to `WIDEN_SEEDS` seeds or two in a row
    that add nothing; then `more` inputs, copies at other sizes of the dataset (a fixed
    resize meets a shrink per size). Stops at the first run that fails, or after
    `WIDEN_S` seconds. The verdict of these runs, and their (image, seed)s."""
    # One function past 50 lines: both loops feed one log of runs under one stop time.
    stop = time.perf_counter() + WIDEN_S
    stop = min(stop, deadline) if deadline is not None else stop
    generators = pipeline.generators
    original = reference_call(pipeline)
    order = sorted(inputs, key=lambda p: math.prod(_spec_size(p)))
    references: list[Outcome] = []
    outcomes: list[Outcome] = []
    runs: list[tuple[str, int]] = []

    def passes(path: str, seed: int) -> bool:
        """One more run, verified; what it reached joins `envelope` only if it passes."""
        seen = Envelope()
        run = candidate_call(pipeline, plan, record_into=seen)
        references.append(run_coupled(original, path, seed, generators))
        outcomes.append(run_coupled(run, LazyImage(path), seed, generators))
        runs.append((path, seed))
        if not compare(references[-1:], outcomes[-1:], units).within(tolerance, _margin(plan)):
            return False
        nonlocal grew
        grew |= envelope.merge(seen)
        return True

    idle, grew = 0, False
    for seed in range(first_seed, first_seed + WIDEN_SEEDS):
        grew = False
        for path in order:
            if time.perf_counter() > stop or not passes(path, seed):
                return compare(references, outcomes, units), runs
        idle = 0 if grew else idle + 1
        if idle == 2:
            break
    for path in more:
        if path in inputs:
            continue
        if time.perf_counter() > stop or not passes(path, 0):
            break
    return compare(references, outcomes, units), runs


def _spec_size(path: str) -> tuple[int, int]:
    spec = _spec_of_file(path, "pil")
    return spec.size if spec is not None else (0, 0)


def _decoded_plan(
    pipeline: LogicalPipeline,
    ranked: list[PhysicalPlan],
    paths: list[str],
    cover: list[str],
    seeds: list[int],
    tolerance: str,
    repeats: int,
    deadline: float | None,
) -> tuple[PhysicalPlan | None, Envelope | None, str]:
    """What `plan.transform` runs on PIL images the user decoded (None: the original),
    where it was verified, and why. No reduced decode helps there (the plan chosen for
    files may rely on one), and a PIL-to-array copy and a full-size OpenCV resize can cost
    more than Pillow's own resize: a few plans that decode as the original does
    (`_decoded_options`; `ranked` is in cost-model order) are verified against the
    original on up to `DECODED_SAMPLES` decoded samples and the `cover` images, and timed
    on the samples; the fastest equivalent one is kept if it beats the original. (Decoded
    arrays and tensors need no such choice: plans run the original's kernels on them.)"""
    load, step = LOADERS[pipeline.loader], max(1, -(-len(paths) // DECODED_SAMPLES))
    images, covered = [load(p) for p in paths[::step]], [load(p) for p in cover]
    options = _decoded_options(pipeline, ranked, images[0])
    if not options:
        return None, None, f"{_DECODED} the original: no rewrite applies past the decoder"
    envelopes = [Envelope() for _ in options]
    calls = {"original": functools.partial(pipeline.invoke, pipeline.original)}
    calls |= {
        str(i): candidate_call(pipeline, plan, record_into=envelopes[i])
        for i, plan in enumerate(options)
    }
    equivalent = _equivalent(pipeline, calls, options, images + covered, seeds, tolerance)
    if not equivalent:
        return None, None, f"{_DECODED} the original: no plan is within '{tolerance}' there"
    timed = {"original": calls["original"]}
    timed |= {
        name: candidate_call(pipeline, options[int(name)], envelopes[int(name)])
        for name in equivalent
    }
    deadline = deadline or time.perf_counter() + DEFAULT_TIMING_S
    medians = time_interleaved(
        timed, {name: images for name in timed}, repeats, deadline, pipeline.generators
    )
    ms = {name: 1000.0 * sum(m) / len(m) for name, m in medians.items()}
    # As for files, the plan kept holds on more seeds (random crops and draws meet more
    # geometry and factors than two seeds draw); the next fastest is tried where it fails.
    more_seeds = list(range(len(seeds), max(len(seeds), WIDEN_SEEDS)))

    def holds_wider(name: str) -> bool:
        if not more_seeds:  # planning drew them all
            return True
        pair = {"original": calls["original"], name: calls[name]}
        option = [options[int(name)]]
        return bool(_equivalent(pipeline, pair, option, images + covered, more_seeds, tolerance))

    fastest = next((n for n in sorted(equivalent, key=ms.__getitem__) if holds_wider(n)), None)
    if fastest is None:
        return None, None, f"{_DECODED} the original: no plan holds '{tolerance}' on more seeds"
    times = f"{ms[fastest]:.2f} vs the original's {ms['original']:.2f} ms/image"
    if ms[fastest] * MIN_SPEEDUP > ms["original"]:
        return None, None, f"{_DECODED} the original (the fastest plan there: {times})"
    names = [op.name for op in pipeline.ops]
    best = options[int(fastest)]
    why = f"{_DECODED} {best.describe(names, with_decode=False)} ({times})"
    return best, envelopes[int(fastest)], why


def _equivalent(
    pipeline: LogicalPipeline,
    calls: dict[str, Callable[[Any], Any]],
    options: list[PhysicalPlan],
    images: list[Any],
    seeds: list[int],
    tolerance: str,
) -> list[str]:
    """The names in `calls` (the original, then one per option) of the options that
    verify against the original on `images` under every seed."""
    outcomes = {
        name: [run_coupled(call, img, s, pipeline.generators) for img in images for s in seeds]
        for name, call in calls.items()
    }
    units = output_units(pipeline, outcomes["original"])
    return [
        name
        for name, plan in zip(calls, [None, *options], strict=True)
        if plan is not None
        and compare(outcomes["original"], outcomes[name], units).within(tolerance, _margin(plan))
    ]


def _decoded_options(
    pipeline: LogicalPipeline, ranked: list[PhysicalPlan], image: Any
) -> list[PhysicalPlan]:
    """The plans worth verifying on decoded images: those decoding as the original does,
    one per distinct set of stages, the cheapest `DECODED_SCREENED` by the cost model;
    then, as it knows decoded images least (copies, full-size resizes), the fastest
    `DECODED_CANDIDATES` of them in one timed run each on `image`."""
    reference_decode = as_written(pipeline).decode
    distinct: dict[str, PhysicalPlan] = {}
    for plan in ranked:
        if plan.decode == reference_decode:
            distinct.setdefault(json.dumps(plan.to_dict(with_rules=False)["segments"]), plan)
    options = list(distinct.values())[:DECODED_SCREENED]
    if len(options) <= DECODED_CANDIDATES:
        return options
    runs = {
        str(i): functools.partial(pipeline.invoke, PlanTransform(pipeline, plan))
        for i, plan in enumerate(options)
    }
    screen = time_interleaved(runs, {name: [image] for name in runs}, 1, None, pipeline.generators)
    fastest_first = sorted(range(len(options)), key=lambda i: screen[str(i)][0])
    return [options[i] for i in fastest_first[:DECODED_CANDIDATES]]


_DECODED = "plan.transform on images you decode yourself runs"


def _spread(paths: list[str], kind: str, original_ms: list[float]) -> str:
    """One line on how varied the samples are: a plan holds on all of them, but its mean
    speedup says little about an outlier."""
    suffixes = Counter(Path(p).suffix.lower() or "(none)" for p in paths)
    formats = ", ".join(f"{n} {suffix}" for suffix, n in suffixes.most_common())
    specs = [s for p in paths if (s := _spec_of_file(p, kind)) is not None]
    line = f"{counted(len(paths), 'file')} ({formats})"
    if specs:
        small = min(specs, key=lambda s: s.width * s.height)
        large = max(specs, key=lambda s: s.width * s.height)
        line += f", {small.width}x{small.height} to {large.width}x{large.height} px"
    if len(specs) < len(paths):
        line += f", {len(paths) - len(specs)} unreadable by Pillow"
    if original_ms:
        line += f"; original {min(original_ms):.2f} to {max(original_ms):.2f} ms/image"
    return line


def _approximations(plan: PhysicalPlan) -> int:
    return len(set(plan.rules) & APPROXIMATE_RULE_NAMES)


def _margin(plan: PhysicalPlan) -> float:
    return APPROXIMATION_MARGIN_DB if _approximations(plan) else 0.0


def _choose(candidates: list[Candidate]) -> int | None:
    """The fastest accepted candidate; within timing noise of it, the one that relies on
    the fewest approximate rules (each is verified only as far as the samples reach)."""
    accepted = [i for i, c in enumerate(candidates) if c.accepted]
    if not accepted:
        return None
    fastest = min(candidates[i].ms for i in accepted)
    close = [i for i in accepted if candidates[i].ms <= fastest * MIN_SPEEDUP]
    return min(
        close,
        key=lambda i: (len(set(candidates[i].rules) & APPROXIMATE_RULE_NAMES), candidates[i].ms),
    )


def _candidate(
    plan: PhysicalPlan,
    pipeline: LogicalPipeline,
    estimated: float,
    verdict: Verification,
    measured: _Measured,
    tolerance: str,
    runs: list[tuple[str, int]],
) -> Candidate:
    names = [op.name for op in pipeline.ops]
    ms = measured.timed.get(plan)
    speedup = measured.original_ms / ms if ms else None
    if verdict.problem is not None:
        accepted, reason = False, verdict.problem
    elif not verdict.within(tolerance):
        accepted, reason = False, f"error exceeds '{tolerance}'"
    elif not verdict.within(tolerance, _margin(plan)):
        margin = f"{APPROXIMATION_MARGIN_DB:.0f} dB"
        accepted, reason = False, f"approximate, within '{tolerance}' by less than {margin}"
    elif speedup is None:
        accepted, reason = False, "not timed: the original raised on every sample"
    elif speedup < MIN_SPEEDUP:
        accepted, reason = False, f"not faster than the original ({speedup:.2f}x)"
    else:
        accepted, reason = True, f"equivalent within '{tolerance}'"
    # Where every run raised (in the original and the plan alike), nothing was compared.
    compared = verdict.compared > 0 or verdict.problem is not None
    return Candidate(
        plan.describe(names),
        plan.rules,
        estimated,
        ms,
        speedup,
        verdict.worst_psnr if compared else None,
        verdict.max_abs if compared else None,
        verdict.mean_abs if compared else None,
        accepted,
        reason,
        _where(verdict, runs),
    )


def _raised(
    references: list[Outcome], runs: list[tuple[str, int]], samples: list[str]
) -> tuple[str, str]:
    """Where the original raised, in one line for the report (every plan was held to
    raising the same there), and the first error as "Class: message (file seed n)"."""
    failed = [(run, ref) for run, ref in zip(runs, references, strict=True) if ref.error]
    if not failed:
        return "", ""
    (path, seed), ref = failed[0]
    first = f"{ref.error.__name__}: {ref.message} ({Path(path).name} seed {seed})"
    on_samples = {p for (p, _), _ in failed if p in samples}
    on_copies = {p for (p, _), _ in failed if p not in samples}
    copies = len({p for p, _ in runs} - set(samples))
    where = f"{len(on_samples)} of {len(samples)} samples"
    if on_copies:
        where += f" and {len(on_copies)} of {copies} copies"
    return (
        f"the original raises in {len(failed)} of {len(runs)} runs, on {where}, e.g. {first}; "
        "a plan that does not raise the same there is rejected",
        first,
    )


def _why_original(
    candidates: list[Candidate], tolerance: str, error: str = "", pipeline: Any = None
) -> str:
    """Why the plan is the original; `error`: the original's first error, when it raised
    on every sample (with the frontend's advice for it, where it has some)."""
    if error:
        advice = hint(pipeline, error)
        return f"the original raised on every sample: {error}" + (f"; {advice}" if advice else "")
    if not candidates:
        return "no rule applies to this pipeline"
    return "no candidate was both faster and equivalent: " + "; ".join(
        sorted({c.reason for c in candidates})
    )
