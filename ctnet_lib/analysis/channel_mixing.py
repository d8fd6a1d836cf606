"""Which input channels reach which output channel after each CT sub-operation (boolean C x C matrices).

Derived from the module's channel layout: sub-operation k runs in ``mixing_layout(k, K)`` where
sub-dimension k is innermost, and its grouped conv mixes each contiguous group of Ck channels. So in
the original channel order, output o of step k depends on input i exactly when o and i agree on every
sub-dimension except k. Chaining steps multiplies these patterns (boolean matrix product); a dense
PWConv between steps makes everything interact at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ctnet_lib.ops.tensor_separable_conv import mixing_layout, permute_channel_layout


def _check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    sizes = tuple(int(s) for s in sizes)
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(f"sub-dimension sizes {sizes} must be a non-empty list of positive integers")
    return sizes


def channel_order(sizes: Sequence[int], k: int) -> np.ndarray:
    """Original channel ids in the order of sub-operation k's layout; shape (C,).

    ``pattern[np.ix_(order, order)]`` shows step k's groups as contiguous diagonal blocks.
    """
    sizes = _check_sizes(sizes)
    if not 0 <= k < len(sizes):
        raise ValueError(f"sub-operation k={k} does not exist for K={len(sizes)} (use 0..{len(sizes) - 1})")
    channels = math.prod(sizes)
    ids = torch.arange(channels).view(1, channels)
    identity = tuple(range(len(sizes)))
    return permute_channel_layout(ids, sizes, identity, mixing_layout(k, len(sizes)))[0].numpy()


def group_of_channel(sizes: Sequence[int], k: int) -> np.ndarray:
    """For each channel (original order), the index of its conv group in sub-operation k; shape (C,)."""
    order = channel_order(sizes, k)
    group = np.empty(order.size, dtype=np.int64)
    group[order] = np.arange(order.size) // sizes[k]
    return group


def step_mixing_matrix(sizes: Sequence[int], k: int) -> np.ndarray:
    """(C_out, C_in) bool: True where sub-operation k alone lets input channel i reach output o."""
    group = group_of_channel(sizes, k)
    return group[:, None] == group[None, :]


def mixing_matrices(sizes: Sequence[int], pwconv: bool = False) -> list[np.ndarray]:
    """Cumulative (C_out, C_in) bool patterns after steps 1..K (after step k's PWConv when ``pwconv``).

    Without PWConv, step k connects C1 x ... x Ck channels per output: block-structured, dense at K.
    """
    sizes = _check_sizes(sizes)
    channels = math.prod(sizes)
    reach = np.eye(channels, dtype=bool)
    patterns = []
    for k in range(len(sizes)):
        step = step_mixing_matrix(sizes, k).astype(np.int64)
        reach = (step @ reach.astype(np.int64)) > 0
        if pwconv and k < len(sizes) - 1:
            reach = np.ones_like(reach)
        patterns.append(reach)
    return patterns


def interacting_channels(pattern: np.ndarray) -> np.ndarray:
    """Number of input channels reaching each output channel; shape (C_out,)."""
    return pattern.sum(axis=1)


def mixing_summary(sizes: Sequence[int], pwconv: bool = False) -> list[dict[str, float]]:
    """Per step: channels reaching one output (min = max here) and the filled fraction of the matrix."""
    rows = []
    for k, pattern in enumerate(mixing_matrices(sizes, pwconv)):
        reach = interacting_channels(pattern)
        rows.append({"step": k + 1, "channels_per_output": int(reach.min()),
                     "max_channels_per_output": int(reach.max()), "density": float(pattern.mean())})
    return rows
