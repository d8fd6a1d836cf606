"""The ablation study's results (``benchmarks/ablation/*.json``, written by ``ctnet ablate``): read,
aggregate per configuration, and compare with the paper's Table 2 orderings.

Accuracy is held-out top-1 (%) at the last epoch (``metric='final'``, no choice made on held-out data)
or at the best epoch (``'best'``). An ordering of the paper (configuration A above B in a sub-table)
*holds* here when our mean of A exceeds B's by at least :data:`RESOLVED_SE` standard errors of the
difference of the means, is *reversed* when B exceeds A by as much, and is *within the seed spread*
otherwise.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ctnet_lib.models.ablations import ABLATION_CONFIGS, SUB_TABLES, sub_table_configs

__all__ = ["METRICS", "RESOLVED_SE", "all_ordering_verdicts", "load_results", "missing_cells",
           "ordering_sentences", "ordering_verdicts", "rerun_comparison", "status_text", "sub_table_summary",
           "summary_sentences", "summary_table"]

METRICS = ("final", "best")
RESOLVED_SE = 2.0  # a difference of means is resolved at this many standard errors
_COLUMNS = ("config", "label", "seed", "final_top1", "final_top5", "best_top1", "best_top5", "best_epoch",
            "epochs", "macs", "params", "train_time_s")


def _row(path: Path) -> dict:
    record = json.loads(path.read_text(encoding="utf-8"))
    try:
        return {"config": record["config"], "label": record["label"], "seed": int(record["seed"]),
                "final_top1": record["final"]["top1"], "final_top5": record["final"]["top5"],
                "best_top1": record["best"]["top1"], "best_top5": record["best"]["top5"],
                "best_epoch": record["best"]["epoch"], "epochs": record["final"]["epoch"],
                "macs": record["macs"], "params": record["params"], "train_time_s": record["train_time_s"]}
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a result of `ctnet ablate` (missing {error}): move it out of the "
                         "results folder") from None


def load_results(folder: str | Path) -> pd.DataFrame:
    """One row per cell JSON in ``folder`` (columns :data:`_COLUMNS`), in table then seed order; an
    empty table when the folder holds none (or does not exist)."""
    rows = [_row(path) for path in sorted(Path(folder).glob("*.json"))]
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    unknown = sorted(set(frame["config"]) - set(ABLATION_CONFIGS))
    if unknown:
        raise ValueError(f"{folder} holds results of configurations not in the table: {', '.join(unknown)}")
    order = {name: index for index, name in enumerate(ABLATION_CONFIGS)}
    return frame.sort_values(["config", "seed"], key=lambda c: c.map(order) if c.name == "config" else c,
                             ignore_index=True)


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r} is not one of {METRICS}")


def summary_table(results: pd.DataFrame, metric: str = "final") -> pd.DataFrame:
    """Per configuration of the table (all, in table order; n = 0 where none is done): seeds done, mean
    and std of top-1 and top-5 (%), MMACs and params (M) per clip, mean training time (s)."""
    _check_metric(metric)
    rows = []
    for name, config in ABLATION_CONFIGS.items():
        done = results[results["config"] == name]
        top1, top5 = done[f"{metric}_top1"], done[f"{metric}_top5"]
        rows.append({"config": name, "label": config.label, "n": len(done),
                     "top1_mean": top1.mean(), "top1_std": top1.std(ddof=1), "top5_mean": top5.mean(),
                     "mmacs": done["macs"].mean() / 1e6, "params_m": done["params"].mean() / 1e6,
                     "train_time_s": done["train_time_s"].mean()})
    return pd.DataFrame(rows).set_index("config")


def sub_table_summary(results: pd.DataFrame, sub_table: str, metric: str = "final") -> pd.DataFrame:
    """:func:`summary_table` for the rows of ``sub_table`` with the paper's top-1 beside ours."""
    summary = summary_table(results, metric)
    configs = sub_table_configs(sub_table)
    frame = summary.loc[[c.name for c in configs]].copy()
    frame.insert(2, "paper_top1", [c.paper_top1[sub_table] for c in configs])
    return frame


def ordering_verdicts(results: pd.DataFrame, sub_table: str, metric: str = "final") -> pd.DataFrame:
    """Every pair the paper orders in ``sub_table`` (``higher`` above ``lower``; ties skipped): the
    paper's difference, ours, its standard error and the verdict ('holds', 'reversed', 'within the
    seed spread' or 'too few seeds' where a side has fewer than 2)."""
    summary = sub_table_summary(results, sub_table, metric)
    rows = []
    for a, b in itertools.combinations(summary.index, 2):
        paper_a, paper_b = summary.at[a, "paper_top1"], summary.at[b, "paper_top1"]
        if paper_a == paper_b:
            continue
        higher, lower = (a, b) if paper_a > paper_b else (b, a)
        n_h, n_l = summary.at[higher, "n"], summary.at[lower, "n"]
        ours = summary.at[higher, "top1_mean"] - summary.at[lower, "top1_mean"]
        se = math.sqrt(summary.at[higher, "top1_std"] ** 2 / n_h + summary.at[lower, "top1_std"] ** 2 / n_l) \
            if min(n_h, n_l) >= 2 else math.nan
        if min(n_h, n_l) < 2:
            verdict = "too few seeds"
        elif ours >= RESOLVED_SE * se and ours > 0:
            verdict = "holds"
        elif -ours >= RESOLVED_SE * se and ours < 0:
            verdict = "reversed"
        else:
            verdict = "within the seed spread"
        rows.append({"sub_table": sub_table, "higher": higher, "lower": lower,
                     "paper_diff": paper_a - paper_b if higher == a else paper_b - paper_a,
                     "our_diff": ours, "se": se, "n_higher": n_h, "n_lower": n_l, "verdict": verdict})
    return pd.DataFrame(rows, columns=["sub_table", "higher", "lower", "paper_diff", "our_diff", "se",
                                       "n_higher", "n_lower", "verdict"])


def ordering_sentences(verdicts: pd.DataFrame) -> list[str]:
    """One plain sentence per ordering of :func:`ordering_verdicts`, with the numbers."""
    sentences = []
    for row in verdicts.itertuples():
        higher, lower = ABLATION_CONFIGS[row.higher].label, ABLATION_CONFIGS[row.lower].label
        paper = f"the paper has {higher} {row.paper_diff:.1f} points above {lower}"
        if row.verdict == "too few seeds":
            sentences.append(f"{row.sub_table}: {paper}; not judged here: {row.n_higher} and {row.n_lower} "
                             "seeds done (2 each needed).")
            continue
        ours = f"here the difference is {row.our_diff:+.1f} ± {row.se:.1f} (standard error)"
        verdict = {"holds": "the ordering holds", "reversed": "the ordering does NOT hold (reversed)",
                   "within the seed spread": "not resolved: within the seed spread"}[row.verdict]
        sentences.append(f"{row.sub_table}: {paper}; {ours}: {verdict}.")
    return sentences


def missing_cells(results: pd.DataFrame, seeds: Sequence[int]) -> list[str]:
    """``'<config>-seed<S>'`` of every (configuration, seed) without a result, in seed rounds."""
    done = set(zip(results["config"], results["seed"], strict=True))
    return [f"{name}-seed{seed}" for seed in seeds for name in ABLATION_CONFIGS if (name, seed) not in done]



def status_text(results: pd.DataFrame, seeds: Sequence[int]) -> str:
    """How much of the study (every configuration x ``seeds``) is done, and which cells are missing."""
    missing = missing_cells(results, seeds)
    total = len(ABLATION_CONFIGS) * len(seeds)
    text = f"{total - len(missing)} of {total} cells done ({len(ABLATION_CONFIGS)} configurations x seeds " \
           f"{', '.join(map(str, seeds))})."
    if missing:
        text += f" Missing ({len(missing)}): {', '.join(missing)}. Train them with `ctnet ablate` " \
                "(resumable; see benchmarks/ablation/README.md)."
    return text


def summary_sentences(results: pd.DataFrame, verdicts: pd.DataFrame, metric: str = "final") -> list[str]:
    """The closing summary in words: the best and the worst configuration, TSN, and the count of the
    paper's orderings that hold, are reversed, are within the spread or are not judged yet."""
    summary = summary_table(results, metric)
    done = summary[summary["n"] > 0]
    if done.empty:
        return ["No results yet: nothing to summarise (train cells with `ctnet ablate`)."]

    def describe(name: str) -> str:
        row = done.loc[name]
        spread = "" if pd.isna(row["top1_std"]) else f" ± {row['top1_std']:.1f}"
        return f"{row['label']} {row['top1_mean']:.1f}{spread} % (n={int(row['n'])})"

    best, lowest = done["top1_mean"].idxmax(), done["top1_mean"].idxmin()
    sentences = [f"Held-out top-1 ({metric} epoch), best configuration: {describe(best)}; "
                 f"lowest: {describe(lowest)}."]
    if "tsn" in done.index:
        sentences.append(f"TSN (order-blind frame averaging): {describe('tsn')}; chance over the 12 classes "
                         "is 8.3 %, and frame averaging can at best tell the pair (about 50 %).")
    counts = verdicts["verdict"].value_counts()
    sentences.append(
        f"Of the paper's {len(verdicts)} orderings in Table 2a/b/c/g: {counts.get('holds', 0)} hold, "
        f"{counts.get('reversed', 0)} are reversed, {counts.get('within the seed spread', 0)} are within the "
        f"seed spread, {counts.get('too few seeds', 0)} are not judged yet (fewer than 2 seeds).")
    judged = len(verdicts) - counts.get("too few seeds", 0)
    if judged:
        chance = math.erfc(RESOLVED_SE / math.sqrt(2))  # two-sided normal tail beyond RESOLVED_SE
        sentences.append(
            f"With no real difference behind it, a comparison crosses {RESOLVED_SE:g} standard errors about "
            f"{100 * chance:.1f} % of the time: of the {judged} judged, about {judged * chance:.1f} would "
            "hold or be reversed by chance alone.")
    return sentences


def rerun_comparison(committed: str | Path, rerun: str | Path) -> pd.DataFrame:
    """Per epoch, held-out top-1 and training loss of a committed cell JSON and of its rerun, and the
    differences (how close a retrained cell comes on this machine)."""
    first, second = (json.loads(Path(path).read_text(encoding="utf-8"))["curves"] for path in (committed,
                                                                                                   rerun))
    frame = pd.DataFrame({"epoch": first["epoch"], "top1_committed": first["top1"],
                          "top1_rerun": second["top1"][: len(first["epoch"])],
                          "train_loss_committed": first["train_loss"],
                          "train_loss_rerun": second["train_loss"][: len(first["epoch"])]})
    frame["top1_diff"] = frame["top1_rerun"] - frame["top1_committed"]
    frame["train_loss_diff"] = frame["train_loss_rerun"] - frame["train_loss_committed"]
    return frame.set_index("epoch")


def all_ordering_verdicts(results: pd.DataFrame, metric: str = "final") -> pd.DataFrame:
    """:func:`ordering_verdicts` of every sub-table, in the paper's order (2a, 2b, 2c, 2g)."""
    return pd.concat([ordering_verdicts(results, table, metric) for table in SUB_TABLES], ignore_index=True)
