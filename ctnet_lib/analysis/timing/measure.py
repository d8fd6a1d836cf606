"""Timing and memory primitives: wall-clock latency of one call and the memory a training step keeps.

Latency: wall-clock ms of one call after ``warmup`` untimed calls, ``repeats`` timed calls, reported
as median and inter-quartile range (IQR); CUDA work is synchronised before and after each call.
'fwd' is inference (eval mode, ``torch.no_grad``); 'fwd_bwd' is one training step without the
optimiser (train mode, forward, backward of the output sum, gradients reset between calls); a
module's input requires grad there, as it does inside a network.

Memory, two quantities with different meanings:
- ``saved_activation_mb`` (every device): bytes of the distinct tensor storages autograd keeps for
  the backward pass during one training-mode forward, parameters excluded, input included. It is
  what a module adds to training memory per clip, computed exactly with saved-tensor hooks.
- ``peak_fwd_mb`` / ``peak_fwd_bwd_mb`` (CUDA only, NaN elsewhere): ``torch.cuda.max_memory_allocated``
  during the call minus the memory allocated before it (input and weights excluded): the allocator's
  true peak, workspace included. CPU has no such counter in torch.

On CPU, subnormal floats are flushed to zero while measuring: randomly initialised networks produce
subnormal activations that slow x86 arithmetic 10-50x, an artefact of the untrained weights (seen
here: CT-Net-R50 at 112 px took 1.4 s instead of 0.09 s per forward).
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

MIB = 2**20


def environment_info(device: torch.device) -> dict[str, object]:
    """Where a measurement ran: device, device_name, torch_version, threads (CPU intra-op threads)."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_model_name()
    return {"device": device.type, "device_name": name, "torch_version": torch.__version__,
            "threads": torch.get_num_threads()}


def _cpu_model_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@dataclass(frozen=True)
class Timing:
    """Wall-clock samples of one call in ms."""

    samples_ms: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return float(np.median(self.samples_ms))

    @property
    def iqr_ms(self) -> float:
        q1, q3 = np.percentile(self.samples_ms, [25, 75])
        return float(q3 - q1)


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device: torch.device, repeats: int = 5, warmup: int = 2) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed (synchronised on CUDA)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats={repeats} must be >= 1 and warmup={warmup} >= 0")
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        _synchronise(device)
        start = time.perf_counter()
        fn()
        _synchronise(device)
        samples.append(1000.0 * (time.perf_counter() - start))
    return Timing(tuple(samples))


def _forward(module: nn.Module, x: Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad():
            return module(x)

    return run


def _forward_backward(module: nn.Module, x: Tensor) -> Callable[[], object]:
    """A training step of ``module`` on x whose output gradient is dense and in the output's memory format,
    as inside a network (the gradient of ``out.sum()`` would be a stride-0 view)."""
    def run() -> object:
        module.zero_grad(set_to_none=True)
        x.grad = None
        out = module(x)
        out.backward(torch.ones_like(out))
        return None

    return run


def saved_activation_bytes(module: nn.Module, x: Tensor) -> int:
    """Bytes of distinct storages autograd saves in one training-mode forward (parameters excluded)."""
    parameter_storages = {p.untyped_storage().data_ptr() for p in module.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameter_storages:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    module.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = module(x)
    del out
    return sum(saved.values())


def peak_allocated_bytes(fn: Callable[[], object], device: torch.device) -> float:
    """CUDA: peak bytes allocated during ``fn`` above what was allocated before; NaN on other devices."""
    if device.type != "cuda":
        return math.nan
    _synchronise(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    _synchronise(device)
    return float(torch.cuda.max_memory_allocated(device) - before)


@contextmanager
def flushed_denormals() -> Iterator[None]:
    """Flush subnormal floats to zero on CPU inside the block (torch's default, off, is restored)."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def measure(
    module: nn.Module,
    input_shape: tuple[int, ...],
    device: torch.device,
    repeats: int = 5,
    warmup: int = 2,
    input_requires_grad: bool = True,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> dict[str, float]:
    """Latency (fwd, fwd_bwd: median and IQR in ms) and memory (MiB) of ``module`` on x: ``input_shape``
    (in ``memory_format``)."""
    module = module.to(device)
    x = torch.randn(input_shape, device=device).contiguous(memory_format=memory_format)
    train_x = x.detach().requires_grad_(input_requires_grad)
    with flushed_denormals():
        module.eval()
        forward = time_call(_forward(module, x), device, repeats, warmup)
        peak_forward = peak_allocated_bytes(_forward(module, x), device)
        module.train()
        step = _forward_backward(module, train_x)
        forward_backward = time_call(step, device, repeats, warmup)
        peak_step = peak_allocated_bytes(step, device)
        saved = saved_activation_bytes(module, train_x)
    module.zero_grad(set_to_none=True)
    return {
        "fwd_ms": forward.median_ms, "fwd_iqr_ms": forward.iqr_ms,
        "fwd_bwd_ms": forward_backward.median_ms, "fwd_bwd_iqr_ms": forward_backward.iqr_ms,
        "saved_activation_mb": saved / MIB,
        "peak_fwd_mb": peak_forward / MIB, "peak_fwd_bwd_mb": peak_step / MIB,
        "repeats": len(forward.samples_ms),
    }
