"""The benchmark suite behind ``ctnet benchmark``: modules, whole networks and data loading, measured in
one run, each case in a fresh Python process, written as one JSON file with the machine's description.

Cases (``suite_cases``):
- ``module``: the temporal modules (and the 2D 3x3 conv they replace) at every ResNet-50 stage's width
  and resolution, run as inside the network: frames (N*T, C, H, W) in and out (``FramesToClip``).
- ``network``: TSN, R(2+1)D, CSN, CT-Module and CT-Net on ResNet-50 (8 frames, 224 px), inference
  (eval, no grad) and one training step without the optimiser (forward + backward), plus CT-Net with the
  readable implementation (native Conv3d on contiguous frames), with each level of ``checkpointing``
  (``ops.recompute``) and with gradient accumulation, TSN on contiguous frames; the small backbone's
  training step.
- ``data``: decode + sample + augment 8-frame clips from a 256p H.264 video with decord and with PyAV, on
  one thread.

Times are medians of ``repeats`` calls after warm-up (``latency.measure``); memory is the process's peak
resident set (CPU) or the CUDA allocator's peak; ratios are taken to a baseline measured in the same run.
With ``rounds`` > 1 the whole case list runs that many times (every other round in reverse order, so that
slow spells of a shared machine fall on different cases) and each measured value is the median over the
rounds, its per-round values kept beside it (``<name>_rounds``).
``targets`` states the performance goals as ratios and whether this run met them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ctnet_lib.analysis.timing.benchmark_cases import Case, SuiteSettings, run_case, suite_cases
from ctnet_lib.analysis.timing.benchmark_targets import add_ratios, evaluate_targets
from ctnet_lib.analysis.timing.measure import environment_info
from ctnet_lib.devices import resolve_device
from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.validation import check_at_least, check_output_file


def machine_description(settings: SuiteSettings) -> dict[str, Any]:
    """Where the suite ran: CPU model and cores, device, torch, threads, Python, the project's commit."""
    device = resolve_device(settings.device)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {**environment_info(device), "threads": settings.threads, "cpu_cores": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(), "commit": commit}


def run_case_in_subprocess(
    case: Case, settings: SuiteSettings, timeout_s: float = 900
) -> list[dict[str, Any]]:
    """Measure ``case`` in a fresh Python process; raise RuntimeError naming the case and the error (its
    last line of stderr, then the whole of it) when it fails."""
    payload = json.dumps({"case": asdict(case), "settings": asdict(settings)})
    done = subprocess.run([sys.executable, "-m", "ctnet_lib.analysis.timing.benchmark_suite", payload],
                          capture_output=True, text=True, timeout=timeout_s)
    if done.returncode:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise RuntimeError(f"benchmark case {case.group}/{case.label} {case.options} failed: {last}\n"
                           f"{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def combine_rounds(rounds: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One case's rows measured in several rounds -> its rows with every measured (float) value replaced by
    the median over the rounds and the per-round values under ``<name>_rounds``."""
    if len(rounds) == 1:
        return list(rounds[0])
    combined = []
    for versions in zip(*rounds, strict=True):
        row = dict(versions[0])
        for key, value in versions[0].items():
            if isinstance(value, float):
                values = [version[key] for version in versions]
                row[key], row[f"{key}_rounds"] = float(np.median(values)), values
        combined.append(row)
    return combined


def run_suite(
    settings: SuiteSettings,
    out: str | Path | None = None,
    cases: Sequence[Case] | None = None,
    log: Callable[[str], None] = print,
    rounds: int = 1,
) -> dict[str, Any]:
    """Run every case (default: :func:`suite_cases`) in its own process, ``rounds`` times (see the module
    docstring); return the results and write them as JSON to ``out`` (atomically) when given."""
    check_at_least("rounds", rounds, 1)
    if out is not None:
        check_output_file(out, "benchmark results file")
    started = time.perf_counter()
    cases = list(cases or suite_cases(settings))
    measured: list[list[list[dict[str, Any]]]] = [[] for _ in cases]
    for round_index in range(rounds):
        order = range(len(cases)) if round_index % 2 == 0 else reversed(range(len(cases)))
        for number in order:
            case, case_started = cases[number], time.perf_counter()
            measured[number].append(run_case_in_subprocess(case, settings))
            seconds = time.perf_counter() - case_started
            log(f"[{round_index + 1}.{number + 1}] {case.group} {case.label} {case.options}: {seconds:.0f} s")
    rows = [row for case_rounds in measured for row in combine_rounds(case_rounds)]
    results = {
        "suite": "ctnet-benchmark",
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_description(settings),
        "settings": asdict(settings),
        "rounds": rounds,
        "rows": add_ratios(rows),
        "targets": evaluate_targets(rows),
        "duration_s": round(time.perf_counter() - started, 1),
    }
    if out is not None:
        atomic_write_text(out, json.dumps(results, indent=1) + "\n")
    return results


def main(argv: Sequence[str]) -> None:
    """Worker entry: measure the case given as JSON and print its rows as one JSON line."""
    payload = json.loads(argv[0])
    rows = run_case(Case(**payload["case"]), SuiteSettings(**payload["settings"]))
    print(json.dumps(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
