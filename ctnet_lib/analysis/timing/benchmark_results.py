"""Reading the committed results of ``ctnet benchmark`` (``benchmarks/*.json``) as tables.

Each file is one run on one machine (see ``benchmark_suite``); tables keep the run's own ratios to its
baselines, so runs on different machines are compared only through ratios.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

NETWORK_COLUMNS = ("label", "implementation", "memory_format", "checkpointing", "accumulate", "precision",
                   "batch_size", "fwd_ms", "fwd_bwd_ms", "peak_mem_mb", "fwd_ms_vs_baseline",
                   "fwd_bwd_ms_vs_baseline", "peak_mem_mb_vs_baseline")
MODULE_COLUMNS = ("label", "implementation", "memory_format", "stage", "channels", "height", "fwd_ms",
                  "fwd_bwd_ms", "saved_activation_mb", "fwd_ms_vs_baseline", "fwd_bwd_ms_vs_baseline")
DATA_COLUMNS = ("label", "video_size", "gop", "crop", "threads", "clip_ms", "clips_per_s")


def load_benchmark_results(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Every ``ctnet benchmark`` JSON file in ``folder``, by file stem (for example ``cpu``); empty when
    there are none. Raises ValueError naming a file that is not such a result."""
    results = {}
    for path in sorted(Path(folder).glob("*.json")):
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path} is not valid JSON ({error}); run `ctnet benchmark --out {path}` again"
            ) from None
        if content.get("suite") != "ctnet-benchmark":
            raise ValueError(f"{path} is not a `ctnet benchmark` result (no suite 'ctnet-benchmark')")
        results[path.stem] = content
    return results


def _table(results: dict[str, Any], group: str, columns: tuple[str, ...]) -> pd.DataFrame:
    rows = [row for row in results["rows"] if row["group"] == group]
    frame = pd.DataFrame(rows)
    return frame.reindex(columns=[c for c in columns if c in frame.columns or not rows])


def network_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per network case: times (ms), peak memory (MiB) and their ratios to TSN's."""
    return _table(results, "network", NETWORK_COLUMNS)


def module_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per (module case, stage): times (ms), saved activations (MiB), ratios to the 2D 3x3's."""
    return _table(results, "module", MODULE_COLUMNS)


def data_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per decoder: ms and clips per second of decode + sample + augment on one thread."""
    return _table(results, "data", DATA_COLUMNS)


def targets_table(results: dict[str, Any]) -> pd.DataFrame:
    """The performance targets with the measured ratio, the limit and whether this run met them."""
    return pd.DataFrame(results["targets"])


def describe_machine(results: dict[str, Any]) -> str:
    """One line: device name, threads, torch version, commit and date of the run."""
    machine = results["machine"]
    return (f"{machine['device_name']} ({machine['device']}, {machine['threads']} threads of "
            f"{machine['cpu_cores']} cores), torch {machine['torch_version']}, commit {machine['commit']}, "
            f"{results['created']}")
