"""Channel groups of a tensor separable conv: which channels sub-operation k mixes, in the original order.

Sub-operation k runs in ``mixing_layout(k, K)`` where sub-dimension k is innermost, and its grouped
conv mixes each contiguous group of Ck channels. So in the original channel order, output o of step k
depends on input i exactly when o and i agree on every sub-dimension except k.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from ctnet_lib.ops.tensor_separable_conv import mixing_layout, permute_channel_layout


def check_sizes(sizes: Sequence[int]) -> tuple[int, ...]:
    """``sizes`` as a tuple of ints; raises ValueError unless it is a non-empty list of positive sizes."""
    sizes = tuple(int(s) for s in sizes)
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(f"sub-dimension sizes {sizes} must be a non-empty list of positive integers")
    return sizes


def channel_order(sizes: Sequence[int], k: int) -> np.ndarray:
    """Original channel ids in the order of sub-operation k's layout; shape (C,).

    ``pattern[np.ix_(order, order)]`` shows step k's groups as contiguous diagonal blocks.
    """
    sizes = check_sizes(sizes)
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
