"""Tolerances for two float computations of the same function that differ only in the order of their sums
(another memory format, 2D convolutions in place of degenerate 3D ones, fused against separate steps).

The bound, derived rather than fitted to one machine: a sum of ``n`` terms evaluated in any order lies
within ``(n - 1) u sum|x_i|`` of the exact sum (first-order bound, Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., eq. 4.4; ``u = eps / 2``), so two orders differ by at most
``n eps sum|x_i|``. A network chains ``depth`` such reductions; to first order their errors add, each
carried forward by the layers after it. A backward pass chains as many again. BatchNorm keeps
activations at unit scale, so we measure every error against the largest magnitude of the tensor
compared, which stands in for ``sum|x_i|`` of its last reduction. Hence

    max |a - b|  <=  passes * depth * n * eps * max |a|        (per tensor)

with ``n`` the longest reduction of the computation (a fan-in, or the positions a weight gradient or a
BatchNorm statistic sums over) and ``passes`` 2 for a training step (forward and backward), 1 for a
forward pass. Rounding errors of different orders are not worst-case aligned: on the Intel machine
measured the largest error used 6 % of this bound (the layer-4 gate gradients of ctnet_small, whose
values are small beside the terms they sum), a float64 failure reported from an AMD machine under the
former fixed tolerance (conv1's gradient, 2.8e-12) 0.2 %, while a real bug (one weight element off by
1e-5 of the weights' scale) exceeds it many times over (tests/test_numerics.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

REDUCING_LAYERS = (nn.Conv2d, nn.Conv3d, nn.Linear, nn.BatchNorm2d, nn.BatchNorm3d)


def reduction_profile(model: nn.Module, *inputs: torch.Tensor) -> tuple[int, int]:
    """``(depth, terms)`` of one forward pass: how many convolution, linear and BatchNorm layers run, and
    the most terms any of them sums (a fan-in ``C_in / groups * prod(kernel)``, or the output positions
    that a weight gradient or a BatchNorm statistic sums over)."""
    sizes: list[int] = []

    def record(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        positions = output.numel() // output.shape[-1 if isinstance(module, nn.Linear) else 1]
        if isinstance(module, nn.Linear):
            fan_in = module.in_features
        elif isinstance(module, nn.Conv2d | nn.Conv3d):
            fan_in = module.in_channels // module.groups * int(torch.tensor(module.kernel_size).prod())
        else:
            fan_in = 1
        sizes.append(max(fan_in, positions))

    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, REDUCING_LAYERS)]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return len(sizes), max(sizes)


def reordering_tolerance(depth: int, terms: int, dtype: torch.dtype = torch.float64,
                         backward: bool = True) -> float:
    """The bound above as a fraction of a tensor's largest magnitude:
    ``passes * depth * terms * eps(dtype)``, two passes when gradients are compared."""
    return (2 if backward else 1) * depth * terms * torch.finfo(dtype).eps


def assert_equal_up_to_reordering(got: Iterable[torch.Tensor], expected: Sequence[torch.Tensor],
                                  tolerance: float, names: Sequence[str] | None = None) -> None:
    """Each tensor of ``got`` within ``tolerance * max|expected|`` of its counterpart, element by element
    (integer tensors, such as BatchNorm's step counters, exactly equal)."""
    got = list(got)
    assert len(got) == len(expected), (len(got), len(expected))
    for index, (a, b) in enumerate(zip(expected, got, strict=True)):
        name = names[index] if names is not None else f"tensor {index}"
        assert a.shape == b.shape, (name, a.shape, b.shape)
        if not a.is_floating_point():
            assert torch.equal(a, b), name
            continue
        scale = float(a.detach().abs().max()) if a.numel() else 0.0
        torch.testing.assert_close(b, a, rtol=0, atol=tolerance * scale, msg=lambda m, n=name: f"{n}: {m}")
