"""Recomputing parts of the forward pass in the backward pass instead of keeping their activations.

The model option ``checkpointing`` chooses how much a network's temporal modules recompute:

- ``none``: every activation autograd needs is kept (fastest, most memory);
- ``activations``: the cheap, memory-bound parts that follow the convolutions of a CT-Module (BatchNorm,
  ReLU, the excitation gates and the branch sum of each sub-operation, and PWConv's BatchNorm and ReLU)
  keep only their inputs, the convolutions' outputs, and run again in the backward pass; the convolutions
  are not recomputed. Modules without such parts (C3D, R(2+1)D, CSN) run as with ``none``;
- ``modules``: each temporal module keeps only its input and runs whole again in the backward pass.

A recomputed forward normalises with the batch's statistics as the first one did but leaves the running
BatchNorm statistics alone, so they are updated once per step (:func:`frozen_batch_norm_statistics`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ctnet_lib.options import parse_bool

CHECKPOINTING = ("none", "activations", "modules")


def parse_checkpointing(value: Any) -> str:
    """One of :data:`CHECKPOINTING`; a boolean (as configs saved before the levels existed hold: true,
    false, 1, 0...) means 'modules' or 'none'."""
    text = str(value).strip().lower()
    if text in CHECKPOINTING:
        return text
    try:
        return "modules" if parse_bool(value) else "none"
    except ValueError:
        raise ValueError(f"checkpointing {value!r} is not one of {', '.join(CHECKPOINTING)}") from None


@contextmanager
def frozen_batch_norm_statistics(module: nn.Module) -> Iterator[None]:
    """Inside the block, training-mode BatchNorms of ``module`` normalise with the batch's statistics but
    leave their running statistics and batch counts as they are, as a recomputed forward must."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone())
             for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(norms, saved, strict=True):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


def recompute_in_backward(
    function: Callable[..., Tensor], *inputs: Tensor, owner: nn.Module, enabled: bool = True
) -> Tensor:
    """``function(*inputs)``, keeping only ``inputs`` for the backward pass, which runs ``function`` again
    with the BatchNorm statistics of ``owner`` (the module holding its layers) frozen. Not ``enabled``, or
    without gradients, it simply runs."""
    if not enabled or not torch.is_grad_enabled() or not any(x.requires_grad for x in inputs):
        return function(*inputs)
    return checkpoint(function, *inputs, use_reentrant=False,
                      context_fn=lambda: (nullcontext(), frozen_batch_norm_statistics(owner)))


def recompute_activations(module: nn.Module) -> None:
    """Turn on ``checkpointing='activations'`` in every submodule of ``module`` that has such parts (those
    with a ``recompute_activations`` attribute)."""
    for m in module.modules():
        if hasattr(m, "recompute_activations"):
            m.recompute_activations = True
