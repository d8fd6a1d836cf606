"""Variants of the CT-Module: the paper's description and the authors' released code, one row each.

The released CT-Net (Andy1621/CT-Net) computes what the paper describes except in three details that
its trained weights depend on; ``variant='release'`` builds them, so the released checkpoint loads and
computes what the release's code computes (see docs/release_checkpoint.md for the full comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_VARIANT", "VARIANTS", "CTVariant", "ct_variant"]


@dataclass(frozen=True)
class CTVariant:
    """How a CT-Module and the bottleneck around it are laid out.

    ``first_mixed_innermost``: in the module's channel index c the sub-dimension mixed first varies
    fastest (c = i_K * C_1 ... + i_1, the release) instead of slowest (c = i_1 * C_2 ... + i_K);
    ``gate_bias``: the second (expanding) convolution of each Tensor Excitation gate has a bias;
    ``norm_after_module``: the bottleneck's own BN and ReLU follow the module, as they followed the 3x3
    conv it replaces (the release feeds the module's output straight into the block's last 1x1 conv).
    """

    name: str
    first_mixed_innermost: bool
    gate_bias: bool
    norm_after_module: bool
    summary: str


VARIANTS: dict[str, CTVariant] = {
    variant.name: variant
    for variant in (
        CTVariant("paper", first_mixed_innermost=False, gate_bias=True, norm_after_module=True,
                  summary="the paper's description (ctnet-lab's default)"),
        CTVariant("release", first_mixed_innermost=True, gate_bias=False, norm_after_module=False,
                  summary="the authors' released code, which its checkpoint ct_net_8f_r50.pth.tar needs"),
    )
}
DEFAULT_VARIANT = "paper"


def ct_variant(name: str) -> CTVariant:
    """The variant called ``name``; ValueError naming the valid ones otherwise."""
    if name not in VARIANTS:
        raise ValueError(f"variant={name!r} is not one of {tuple(VARIANTS)}")
    return VARIANTS[name]
