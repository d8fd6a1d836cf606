"""The paper's Figure 3, scored: per-model means with bootstrap 95 % intervals, paired differences between
models over the same clips, and the three claims stated with how sure the data make them.

Claims (section 4.3 of the paper), each tested with the scores of ``scores``:

1. CT-Net localises the object better in space and in time than R(2+1)D and CSN: higher energy on the
   object (space) and more frames tracking it (time);
2. R(2+1)D concentrates on one part of the object: lower object coverage than CT-Net and CSN;
3. CSN's regions of interest are scattered: more regions above threshold and a higher spatial entropy than
   CT-Net and R(2+1)D (and, where the data mask them, more saliency on the distractor shapes).

A comparison is *supported* when the 95 % interval of the paired difference lies on the claimed side of
zero, *contradicted* when it lies on the other side, and *not decided* when it contains zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ctnet_lib.explain.study import SCORE_COLUMNS, UNIFORM, LocalisationStudy

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "CONTRADICTED",
    "HOLDS",
    "UNDECIDED",
    "ClaimResult",
    "Interval",
    "bootstrap_mean",
    "claim_results",
    "claim_sentences",
    "intervals_table",
    "paired_difference",
    "paper_claim_results",
    "paper_claims",
    "uniform_ratio",
]

BOOTSTRAP_SAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean with its bootstrap (percentile) interval at ``LEVEL``, over ``n`` clips."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"

    @property
    def sign(self) -> int:
        """1 when the whole interval is above 0, -1 when below, 0 when it contains 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


def _resampled_means(values: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Means over the first axis of ``samples`` resamples (with replacement) of ``values`` (n, ...)."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), (samples, len(values)))
    return values[picks].mean(axis=1)


def _interval(estimate: float, draws: np.ndarray, n: int) -> Interval:
    """``estimate`` with the percentile interval at ``LEVEL`` of its bootstrap ``draws``."""
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(float(estimate), float(low), float(high), n)


def bootstrap_mean(values: Sequence[float] | np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
                   ) -> Interval:
    """Mean of ``values`` (NaNs dropped) with the percentile bootstrap 95 % interval of the mean."""
    kept = np.asarray(values, dtype=np.float64)
    kept = kept[~np.isnan(kept)]
    if len(kept) == 0:
        return Interval(np.nan, np.nan, np.nan, 0)
    return _interval(kept.mean(), _resampled_means(kept, samples, seed), len(kept))


def _per_video(study: LocalisationStudy, row: str, column: str) -> pd.Series:
    """``column`` of ``row`` by video (a baseline row: as scored beside the first model)."""
    frame = study.per_video[study.per_video["row"] == row]
    frame = frame[frame["model"] == frame["model"].iloc[0]]
    return frame.set_index("video")[column]


def paired_difference(study: LocalisationStudy, column: str, first: str, second: str, seed: int = 0
                      ) -> Interval:
    """Mean over the same clips of ``column`` of row ``first`` minus row ``second``, with its interval."""
    a, b = _per_video(study, first, column), _per_video(study, second, column)
    return bootstrap_mean((a - b.reindex(a.index)).to_numpy(), seed=seed)


def uniform_ratio(study: LocalisationStudy, model: str, seed: int = 0) -> Interval:
    """The model's energy on the object over a uniform map's (the object's area fraction): the ratio of
    the means, with a bootstrap interval over clips resampled in pairs."""
    energy = _per_video(study, model, "energy")
    floor = _per_video(study, UNIFORM, "energy").reindex(energy.index)
    pairs = np.stack([energy.to_numpy(), floor.to_numpy()], axis=1)
    pairs = pairs[~np.isnan(pairs).any(axis=1)]
    means = _resampled_means(pairs, BOOTSTRAP_SAMPLES, seed)  # (samples, 2): energy, floor
    return _interval(pairs[:, 0].mean() / pairs[:, 1].mean(), means[:, 0] / means[:, 1], len(pairs))


def intervals_table(study: LocalisationStudy, seed: int = 0) -> pd.DataFrame:
    """One row per model, then the baselines; per score of ``SCORE_COLUMNS`` that was measured, the mean
    and the bounds of its bootstrap 95 % interval (columns (score, 'mean' | 'low' | 'high'))."""
    rows = {}
    for row in [*study.models, *[r for r in study.per_video["row"].unique() if r not in study.models]]:
        cells = {}
        for column in SCORE_COLUMNS:
            interval = bootstrap_mean(_per_video(study, row, column).to_numpy(), seed=seed)
            if interval.n:
                cells |= {(column, "mean"): interval.mean, (column, "low"): interval.low,
                          (column, "high"): interval.high}
        rows[row] = cells
    return pd.DataFrame.from_dict(rows, orient="index")


def _verdict(interval: Interval, claimed_sign: int) -> str:
    if interval.sign == claimed_sign:
        return "supported"
    return "contradicted" if interval.sign == -claimed_sign else "not decided"


def _comparison(study: LocalisationStudy, column: str, first: str, second: str, claimed_sign: int
                ) -> tuple[str, str]:
    interval = paired_difference(study, column, first, second)
    text = (f"{SCORE_COLUMNS[column][0]} {first} - {second} = {interval} "
            f"({interval.n} clips): {_verdict(interval, claimed_sign)}")
    return _verdict(interval, claimed_sign), text


HOLDS, CONTRADICTED, UNDECIDED = "holds", "does not hold", "not decided"
_OVERALL_TEXT = {HOLDS: "holds", CONTRADICTED: "does not hold (the data contradict part of it)",
                 UNDECIDED: "is not decided by these data (an interval contains 0)"}


def _overall(verdicts: list[str]) -> str:
    if all(v == "supported" for v in verdicts):
        return HOLDS
    if any(v == "contradicted" for v in verdicts):
        return CONTRADICTED
    return UNDECIDED


@dataclass(frozen=True)
class ClaimResult:
    """One claim of Figure 3: its title, the overall verdict (:data:`HOLDS`, :data:`CONTRADICTED` or
    :data:`UNDECIDED`) and each paired comparison behind it, in words."""

    title: str
    overall: str
    comparisons: tuple[str, ...]

    def __str__(self) -> str:
        return f"Claim {self.title} {_OVERALL_TEXT[self.overall]}: " + "; ".join(self.comparisons) + "."


def claim_results(study: LocalisationStudy, ctnet: str, r2plus1d: str, csn: str) -> list[ClaimResult]:
    """The three claims of Figure 3 tested on ``study`` with the named models' rows."""
    claims = [
        ("1 (CT-Net localises the object better, in space and in time)",
         [(c, ctnet, other, 1) for c in ("energy", "tracking") for other in (r2plus1d, csn)]),
        ("2 (R(2+1)D covers only one part of the object)",
         [("coverage", r2plus1d, other, -1) for other in (ctnet, csn)]),
        ("3 (CSN's regions of interest are scattered)",
         [(c, csn, other, 1) for c in ("regions", "entropy", "distractor_energy")
          for other in (ctnet, r2plus1d) if study.per_video[c].notna().any()]),
    ]
    results = []
    for title, comparisons in claims:
        tested = [_comparison(study, *comparison) for comparison in comparisons]
        results.append(ClaimResult(title, _overall([v for v, _ in tested]), tuple(t for _, t in tested)))
    return results


def claim_sentences(study: LocalisationStudy, ctnet: str, r2plus1d: str, csn: str) -> list[str]:
    """The three claims of Figure 3 in words, each with the paired differences behind its verdict, then
    every model's energy on the object as a multiple of a uniform map's (with intervals)."""
    lines = [str(result) for result in claim_results(study, ctnet, r2plus1d, csn)]
    ratios = {name: uniform_ratio(study, name) for name in study.models}
    lines.append("Energy on the object as a multiple of a uniform map's (95 % interval): "
                 + ", ".join(f"{name} {r}" for name, r in ratios.items()) + ".")
    return lines


def _figure3_models(study: LocalisationStudy) -> dict[str, str | None]:
    """The study's CT-Net, R(2+1)D and CSN by preset family (``ctnet_*``, ``r2plus1d_*``, ``csn_*``)."""
    return {family: next((m for m in study.models if m.startswith(f"{family}_")), None)
            for family in ("ctnet", "r2plus1d", "csn")}


def paper_claim_results(study: LocalisationStudy) -> list[ClaimResult]:
    """:func:`claim_results` for the study's CT-Net, R(2+1)D and CSN; ValueError naming the missing ones."""
    found = _figure3_models(study)
    missing = [family for family, name in found.items() if name is None]
    if missing:
        raise ValueError(f"the claims of Figure 3 compare CT-Net, R(2+1)D and CSN; this study lacks "
                         f"{', '.join(missing)}: add their presets to the models")
    return claim_results(study, found["ctnet"], found["r2plus1d"], found["csn"])


def paper_claims(study: LocalisationStudy) -> list[str]:
    """:func:`claim_sentences` for the study's CT-Net, R(2+1)D and CSN (found by preset family:
    ``ctnet_*``, ``r2plus1d_*``, ``csn_*``), or one sentence saying which of them are missing."""
    try:
        paper_claim_results(study)
    except ValueError as error:
        return [f"{str(error)[0].upper()}{str(error)[1:]}."]
    found = _figure3_models(study)
    return claim_sentences(study, found["ctnet"], found["r2plus1d"], found["csn"])
