"""The cases of the benchmark suite and how each is measured, in the process that runs it: temporal
modules at every ResNet-50 stage, whole networks, data loading (see ``timing.benchmark_suite``).
"""

from __future__ import annotations

import resource
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
from torch import nn

from ctnet_lib.analysis.timing.latency_tables import (
    CTNET_MODULE,
    MODULE_TYPES,
    PLAIN_MODULE,
    build_probe_module,
    resnet50_stage_shapes,
)
from ctnet_lib.analysis.timing.measure import MIB, flushed_denormals, measure, time_call
from ctnet_lib.devices import resolve_device
from ctnet_lib.models import build_model
from ctnet_lib.models.presets import RUNNING_CHOICES
from ctnet_lib.models.resnet import FramesToClip
from ctnet_lib.models.variants import BASELINE_FAMILY, FAMILIES, family_presets
from ctnet_lib.ops.conv_lowering import set_conv_implementation
from ctnet_lib.ops.memory_format import torch_memory_format
from ctnet_lib.ops.module_registry import module_kind
from ctnet_lib.ops.recompute import CHECKPOINTING, parse_checkpointing
from ctnet_lib.train.device import choose_precision, prepare_model
from ctnet_lib.validation import check_at_least

BASELINE_MODULE = PLAIN_MODULE


BASELINE_NETWORK = BASELINE_FAMILY.label
CTNET = FAMILIES["ctnet"]
SMALL_CTNET = f"{CTNET.label} small"  # the small backbone's training step, for the data-loading target


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


READABLE = {"implementation": "native", "memory_format": "contiguous"}


# the networks measured: every variant on ResNet-50 but C3D (its dense 3x3x3 convolutions take minutes)
NETWORKS = family_presets("r50", ("tsn", "r2plus1d", "csn", "ctmodule", "ctnet"))


def suite_cases(settings: SuiteSettings) -> list[Case]:
    """Every case of the suite, baselines first."""
    cases = [Case("module", label, {"implementation": "auto"}) for label in MODULE_TYPES]
    cases += [Case("module", label, READABLE) for label in (module_kind("ct").label, CTNET_MODULE)]
    cases += [Case("network", label, {"preset": preset}) for label, preset in NETWORKS.items()]
    cases += [
        Case("network", BASELINE_NETWORK, {"preset": BASELINE_FAMILY.preset("r50"),
                                           "memory_format": "contiguous"}),
        Case("network", CTNET.label, {"preset": CTNET.preset("r50"), **READABLE}),
        # ways of training that leave inference as it is: their training step only
        *(Case("network", CTNET.label, {"preset": CTNET.preset("r50"), "checkpointing": level,
                                        "train_only": True})
          for level in CHECKPOINTING if level != "none"),
        Case("network", CTNET.label, {"preset": CTNET.preset("r50"), "accumulate": 2, "train_only": True}),
        Case("network", SMALL_CTNET, {"preset": CTNET.preset("small"), "batch_size": 8, "train_only": True}),
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
    model = build_model(case.options["preset"], num_frames=settings.frames, **options)  # the paper's head
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
