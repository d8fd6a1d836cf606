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
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
from torch import nn

from ctnet_lib.analysis.latency import (
    MODULE_TYPES,
    build_probe_module,
    environment_info,
    flushed_denormals,
    measure,
    resnet50_stage_shapes,
    time_call,
)
from ctnet_lib.devices import resolve_device
from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.models import build_model
from ctnet_lib.models.presets import RUNNING_CHOICES
from ctnet_lib.models.resnet import FramesToClip
from ctnet_lib.ops.conv_lowering import set_conv_implementation
from ctnet_lib.ops.memory_format import torch_memory_format
from ctnet_lib.ops.recompute import CHECKPOINTING, parse_checkpointing
from ctnet_lib.train.device import choose_precision, prepare_model
from ctnet_lib.validation import check_at_least, check_output_file

MIB = 2**20
BASELINE_MODULE = "2D 3x3 (TSN)"
BASELINE_NETWORK = "TSN"


@dataclass(frozen=True)
class Case:
    """One measurement, run in its own process: ``group`` (module, network or data), a label, options."""

    group: str
    label: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteSettings:
    """What every case shares: device ('cpu', 'cuda', 'auto'), CPU threads, timing repeats, sizes."""

    device: str = "cpu"
    threads: int = 2
    repeats: int = 5
    warmup: int = 1
    batch_size: int = 2  # clips per network or module call
    frames: int = 8
    resolution: int = 224
    quick: bool = False  # tiny sizes, for tests of the suite itself

    def __post_init__(self) -> None:
        for name in ("threads", "repeats", "batch_size", "frames", "resolution"):
            check_at_least(name, getattr(self, name), 1)
        check_at_least("warmup", self.warmup, 0)


# ------------------------------------------------------------------------------------------ the cases


READABLE = {"implementation": "native", "memory_format": "contiguous"}
NETWORKS = {"TSN": "tsn_r50", "R(2+1)D": "r2plus1d_r50", "CSN": "csn_r50", "CT-Module": "ctmodule_r50",
            "CT-Net": "ctnet_r50"}


def suite_cases(settings: SuiteSettings) -> list[Case]:
    """Every case of the suite, baselines first."""
    cases = [Case("module", label, {"implementation": "auto"}) for label in MODULE_TYPES]
    cases += [Case("module", label, READABLE) for label in ("CT-Module", "CT-Net (PW+TE)")]
    cases += [Case("network", label, {"preset": preset}) for label, preset in NETWORKS.items()]
    cases += [
        Case("network", "TSN", {"preset": "tsn_r50", "memory_format": "contiguous"}),
        Case("network", "CT-Net", {"preset": "ctnet_r50", **READABLE}),
        # ways of training that leave inference as it is: their training step only
        *(Case("network", "CT-Net", {"preset": "ctnet_r50", "checkpointing": level, "train_only": True})
          for level in CHECKPOINTING if level != "none"),
        Case("network", "CT-Net", {"preset": "ctnet_r50", "accumulate": 2, "train_only": True}),
        Case("network", "CT-Net small", {"preset": "ctnet_small", "batch_size": 8, "train_only": True}),
    ]
    cases += [Case("data", backend, {"backend": backend}) for backend in ("decord", "pyav")]
    return cases


def _peak_rss_mb() -> float:
    """Peak resident set of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_fields(device: torch.device) -> dict[str, float]:
    if device.type == "cuda":
        return {"peak_mem_mb": torch.cuda.max_memory_allocated(device) / MIB}
    return {"peak_mem_mb": _peak_rss_mb()}


def _running_fields(options: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """What each running option resolved to on ``device``, and whether the case forced any of them."""
    chosen = {name: options.get(name, "auto") for name in RUNNING_CHOICES}
    return {**{name: choice.resolve(chosen[name], device.type) for name, choice in RUNNING_CHOICES.items()},
            "forced": any(value != "auto" for value in chosen.values())}


def run_module_case(case: Case, settings: SuiteSettings, device: torch.device) -> list[dict[str, Any]]:
    """One module type at every ResNet-50 stage, frames in and out (in the case's memory format); one row
    per stage."""
    config = MODULE_TYPES[case.label]
    divisor = 16 if settings.quick else 1
    resolution = 32 if settings.quick else settings.resolution
    rows = []
    for shape in resnet50_stage_shapes(resolution, settings.frames, channel_divisor=divisor):
        if config is None:
            module: nn.Module = nn.Conv2d(shape.channels, shape.channels, 3, padding=1, bias=False)
        else:
            module = FramesToClip(build_probe_module(config, shape.channels))
            module.num_frames = shape.frames
            set_conv_implementation(module, case.options.get("implementation", "auto"))
        input_shape = (settings.batch_size * shape.frames, shape.channels, shape.height, shape.width)
        frames_format = torch_memory_format(case.options.get("memory_format", "auto"), device.type)
        measured = measure(module, input_shape, device, settings.repeats, settings.warmup,
                           memory_format=frames_format)
        rows.append({"stage": shape.stage, "channels": shape.channels, "frames": shape.frames,
                     "height": shape.height, "width": shape.width, "batch_size": settings.batch_size,
                     **_running_fields(case.options, device), **measured})
    return rows


def run_network_case(case: Case, settings: SuiteSettings, device: torch.device) -> list[dict[str, Any]]:
    """Inference and one training step (forward + backward, no optimiser) of one network, prepared and in
    the precision that training uses on ``device`` (fp32 on the CPU, AMP on CUDA); with ``accumulate``
    the step runs the batch as that many micro-batches whose gradients add up."""
    options = {k: case.options[k] for k in (*RUNNING_CHOICES, "checkpointing") if k in case.options}
    model = build_model(case.options["preset"], num_classes=174, num_frames=settings.frames, **options)
    batch = case.options.get("batch_size", settings.batch_size)
    resolution = 32 if settings.quick else settings.resolution
    x = torch.randn(batch, 3, settings.frames, resolution, resolution, device=device)
    prepare_model(model, device)
    precision = choose_precision(device)
    accumulate = case.options.get("accumulate", 1)
    row: dict[str, Any] = {"preset": case.options["preset"], "batch_size": batch, "frames": settings.frames,
                           "resolution": resolution, "accumulate": accumulate,
                           "checkpointing": parse_checkpointing(options.get("checkpointing", "none")),
                           "precision": str(precision), **_running_fields(case.options, device)}
    with flushed_denormals():
        if not case.options.get("train_only"):
            model.eval()
            with torch.no_grad(), precision.autocast():
                timing = time_call(lambda: model(x), device, settings.repeats, settings.warmup)
            row.update(fwd_ms=timing.median_ms, fwd_iqr_ms=timing.iqr_ms)
        model.train()

        def step() -> None:
            model.zero_grad(set_to_none=True)
            for micro_batch in x.chunk(accumulate):
                with precision.autocast():
                    loss = model(micro_batch).float().sum()
                loss.backward()

        timing = time_call(step, device, settings.repeats, settings.warmup)
    row.update(fwd_bwd_ms=timing.median_ms, fwd_bwd_iqr_ms=timing.iqr_ms,
               train_clips_per_s=1000.0 * batch / timing.median_ms, **_memory_fields(device))
    return [row]


def _write_benchmark_video(path: Path, num_frames: int, size: int, gop: int = 12) -> None:
    """A ``size``-pixel square H.264 video of moving texture with a keyframe every ``gop`` frames."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 256, (size, 2 * size, 3), dtype=np.uint8)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24, options={"g": str(gop), "preset": "veryfast"})
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for t in range(num_frames):
            frame = np.ascontiguousarray(texture[:, t * 2 : t * 2 + size])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def run_data_case(case: Case, settings: SuiteSettings, device: torch.device) -> list[dict[str, Any]]:
    """Clips per second of decode + TSN sparse sampling + train augmentation, one thread, from a 256p
    H.264 video of 96 frames (GOP 12)."""
    from ctnet_lib.data import SparseSampler, read_sampled_frames, train_transform

    torch.set_num_threads(1)
    size, num_frames = (64, 24) if settings.quick else (256, 96)
    crop = 56 if settings.quick else settings.resolution
    sampler = SparseSampler(settings.frames, train=True)
    transform = train_transform(crop)
    generator = torch.Generator().manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "clip.mp4"
        _write_benchmark_video(video, num_frames, size)

        def load() -> torch.Tensor:
            frames, _ = read_sampled_frames(video, sampler, generator, backend=case.options["backend"])
            return transform(frames[0], generator)

        timing = time_call(load, torch.device("cpu"), max(settings.repeats, 10), settings.warmup)
    return [{"video_size": size, "video_frames": num_frames, "gop": 12, "crop": crop, "threads": 1,
             "clip_ms": timing.median_ms, "clip_iqr_ms": timing.iqr_ms,
             "clips_per_s": 1000.0 / timing.median_ms}]


CASE_RUNNERS: dict[str, Callable[[Case, SuiteSettings, torch.device], list[dict[str, Any]]]] = {
    "module": run_module_case,
    "network": run_network_case,
    "data": run_data_case,
}


GROUPS = tuple(CASE_RUNNERS)


def run_case(case: Case, settings: SuiteSettings) -> list[dict[str, Any]]:
    """Measure ``case`` in this process: its rows, each with the case's group, label and options."""
    torch.set_num_threads(settings.threads)
    torch.manual_seed(0)
    device = resolve_device(settings.device)
    rows = CASE_RUNNERS[case.group](case, settings, device)
    return [{"group": case.group, "label": case.label, "options": case.options, **row} for row in rows]


# ----------------------------------------------------------------------------------------- the driver


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
    done = subprocess.run([sys.executable, "-m", "ctnet_lib.analysis.benchmark_suite", payload],
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


# ------------------------------------------------------------------------------- ratios and targets


def _is_plain(row: dict[str, Any]) -> bool:
    """Measured with the per-device running choices and without micro-batches (any checkpointing)."""
    return not row.get("forced") and row.get("accumulate", 1) == 1


def _is_default(row: dict[str, Any]) -> bool:
    return _is_plain(row) and parse_checkpointing(row.get("checkpointing", "none")) == "none"


def _find(rows: Sequence[dict[str, Any]], group: str, label: str, **match: Any) -> dict[str, Any] | None:
    """The first row of ``group`` and ``label`` whose fields equal ``match``."""
    return next((row for row in rows if row["group"] == group and row["label"] == label
                 and all(row.get(k) == v for k, v in match.items())), None)


def _default(rows: Sequence[dict[str, Any]], group: str, label: str, **match: Any) -> dict[str, Any] | None:
    """As :func:`_find`, among the rows measured with the default settings only."""
    return _find([row for row in rows if _is_default(row)], group, label, **match)


def add_ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each module row's times over the 2D 3x3 conv's at its stage, each network row's times and memory
    over TSN's (``*_vs_baseline``)."""
    out = []
    for row in rows:
        if row["group"] == "module":
            base = _default(rows, "module", BASELINE_MODULE, stage=row["stage"])
            keys = ("fwd_ms", "fwd_bwd_ms", "saved_activation_mb")
        elif row["group"] == "network" and row.get("batch_size") == _batch_of(rows, BASELINE_NETWORK):
            base = _default(rows, "network", BASELINE_NETWORK)
            keys = ("fwd_ms", "fwd_bwd_ms", "peak_mem_mb")
        else:
            base, keys = None, ()
        ratios = {f"{k}_vs_baseline": row[k] / base[k] for k in keys if base and k in row and k in base}
        out.append({**row, **ratios})
    return out


def _batch_of(rows: Sequence[dict[str, Any]], label: str) -> int | None:
    base = _default(rows, "network", label)
    return base["batch_size"] if base else None


@dataclass(frozen=True)
class Target:
    """A goal: ``measured(rows)`` (a ratio) must be at most ``limit`` (or at least, with ``at_least``)."""

    name: str
    measured: Callable[[Sequence[dict[str, Any]]], float]
    limit: float
    at_least: bool = False


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str, key_b: str | None = None) -> float:
    if a is None or b is None or key not in a or (key_b or key) not in b:
        return float("nan")
    return a[key] / b[key_b or key]


def _worst_stage_ratio(rows: Sequence[dict[str, Any]], label: str) -> float:
    """The largest (module fwd+bwd / R(2+1)D's) over the stages."""
    ratios = [_ratio(row, _default(rows, "module", "R(2+1)D", stage=row["stage"]), "fwd_bwd_ms")
              for row in rows if row["group"] == "module" and row["label"] == label and _is_default(row)]
    return max(ratios) if ratios else float("nan")


def _ctnet(rows: Sequence[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return _find(rows, "network", "CT-Net", **match)


def _ctnet_memory_ratio(checkpointing: str) -> Callable[[Sequence[dict[str, Any]]], float]:
    """CT-Net's peak training memory with ``checkpointing`` (otherwise default settings) over TSN's."""

    def ratio(rows: Sequence[dict[str, Any]]) -> float:
        plain = [row for row in rows if _is_plain(row)]
        return _ratio(_find(plain, "network", "CT-Net", checkpointing=checkpointing),
                      _default(rows, "network", "TSN"), "peak_mem_mb")

    return ratio


TARGETS = (
    Target("CT-Net-R50 training step / TSN-R50's", lambda r: _ratio(
        _default(r, "network", "CT-Net"), _default(r, "network", "TSN"), "fwd_bwd_ms"), 0.90),
    Target("CT-Net-R50 inference / TSN-R50's", lambda r: _ratio(
        _default(r, "network", "CT-Net"), _default(r, "network", "TSN"), "fwd_ms"), 0.87),
    Target("CT-Net-R50 training step / the readable implementation's", lambda r: _ratio(
        _default(r, "network", "CT-Net"), _ctnet(r, **READABLE, forced=True), "fwd_bwd_ms"), 0.80),
    Target("CT-Net-R50 peak training memory / TSN-R50's", _ctnet_memory_ratio("none"), 1.10),
    *(Target(f"CT-Net-R50 peak training memory with checkpointing={level} / TSN-R50's",
             _ctnet_memory_ratio(level), 1.10) for level in CHECKPOINTING if level != "none"),
    Target("CT-Module fwd+bwd / R(2+1)D-Module's, worst stage", lambda r: _worst_stage_ratio(r, "CT-Module"),
           1.0),
    Target("CT-Net module fwd+bwd / R(2+1)D-Module's, worst stage",
           lambda r: _worst_stage_ratio(r, "CT-Net (PW+TE)"), 1.0),
    Target("data clips/s (decord, one thread) / ctnet_small training clips/s", lambda r: _ratio(
        _find(r, "data", "decord"), _default(r, "network", "CT-Net small"), "clips_per_s",
        "train_clips_per_s"), 1.0, at_least=True),
)


def evaluate_targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target with its measured ratio and whether it is met (None when not measured)."""
    results = []
    for target in TARGETS:
        value = target.measured(rows)
        met = None if np.isnan(value) else bool(value >= target.limit if target.at_least
                                                else value <= target.limit)
        results.append({"target": target.name, "measured": None if np.isnan(value) else round(value, 3),
                        "limit": target.limit, "at_least": target.at_least, "met": met})
    return results


def main(argv: Sequence[str]) -> None:
    """Worker entry: measure the case given as JSON and print its rows as one JSON line."""
    payload = json.loads(argv[0])
    rows = run_case(Case(**payload["case"]), SuiteSettings(**payload["settings"]))
    print(json.dumps(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
