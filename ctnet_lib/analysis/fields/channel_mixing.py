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

from ctnet_lib.ops.channel_groups import channel_order, check_sizes, step_mixing_matrix
from ctnet_lib.ops.module_registry import ct_form
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig


def mixing_matrices(sizes: Sequence[int], pwconv: bool = False) -> list[np.ndarray]:
    """Cumulative (C_out, C_in) bool patterns after steps 1..K (after step k's PWConv when ``pwconv``).

    Without PWConv, step k connects C1 x ... x Ck channels per output: block-structured, dense at K.
    """
    sizes = check_sizes(sizes)
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


def fibre_order(config: TemporalModuleConfig, channels: int) -> list[int] | None:
    """Channel ids with the fibres of C1 contiguous (step 1's groups as diagonal blocks) for a module that
    is its own CT form (a CT-Module); None for the baselines, which keep the original order."""
    if ct_form(config) != config:
        return None
    return channel_order(config.sizes(channels), 0).tolist()
