"""Which 3x3 convolutions of a 2D ImageNet CNN become temporal modules (the ``replace`` rule of
``conversion.convert_to_video``), and why a chosen convolution cannot be replaced.

Rules: a block selection of ``block_selection`` (``every_other``, the paper's rule, ``all_but_first``,
``all``, ``layer3:1,3,5+layer4:1``) picks the 3x3 ``conv2`` of those blocks of a residual network;
``equal_3x3`` picks every 3x3 convolution with stride 1 and as many output as input channels (the
InceptionV3 default); ``none`` picks nothing; ``Mixed_5b.branch3x3dbl_3.conv+...`` names convolutions.
"""

from __future__ import annotations

from torch import nn

from ctnet_lib.models.block_selection import LAYER_NAMES, NAMED_SELECTIONS, select_blocks

EQUAL_3X3 = "equal_3x3"


def is_residual(model: nn.Module) -> bool:
    """True for a ResNet-style model: stages ``layer1``..``layer4`` of blocks that each have a ``conv2``."""
    stages = [getattr(model, name, None) for name in LAYER_NAMES]
    return all(isinstance(stage, nn.Sequential) and all(hasattr(block, "conv2") for block in stage)
               for stage in stages)


def replacement_problem(module: nn.Module) -> str | None:
    """Why a temporal module cannot take ``module``'s place (None when it can): the modules map
    (N, C, T, H, W) to (N, C, T, H / s, W / s) with a 3x3 spatial kernel, padding 1 and no bias."""
    if not isinstance(module, nn.Conv2d):
        return f"is a {type(module).__name__}, not a Conv2d"
    if module.kernel_size != (3, 3):
        kernel = "x".join(map(str, module.kernel_size))
        return f"has a {kernel} kernel; temporal modules replace 3x3 convs"
    if module.in_channels != module.out_channels:
        return (f"maps {module.in_channels} to {module.out_channels} channels; temporal modules keep the "
                "channel count")
    if module.stride[0] != module.stride[1]:
        return f"has stride {module.stride}; temporal modules take one spatial stride"
    if module.padding != (1, 1) or module.dilation != (1, 1) or module.padding_mode != "zeros":
        return (f"has padding {module.padding}, dilation {module.dilation} ({module.padding_mode}); temporal "
                "modules pad 1 with zeros, without dilation, so their output would have another size")
    if module.bias is not None:
        return "has a bias; temporal modules have none (the BatchNorm after the conv adds it)"
    return None


def _equal_3x3(model: nn.Module) -> list[str]:
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)
            and module.stride == (1, 1) and replacement_problem(module) is None]


def _named_convs(model: nn.Module, replace: str) -> list[str]:
    modules = dict(model.named_modules())
    names = [part.strip() for part in replace.split("+")]
    unknown = [name for name in names if name not in modules]
    if unknown:
        example = next(iter(_equal_3x3(model)), "a conv name")
        raise ValueError(
            f"replace={replace!r}: {type(model).__name__} has no module {', '.join(unknown)}; give "
            f"'{EQUAL_3X3}', 'none', conv names joined by '+' (such as {example})"
            + (f", or a block selection ({', '.join(NAMED_SELECTIONS)})" if is_residual(model) else "")
        )
    return names


def select_convs(model: nn.Module, replace: str) -> tuple[str, ...]:
    """Names of the convs of 2D ``model`` that rule ``replace`` (see the module docstring) picks.

    Raises ValueError naming every picked module that cannot be replaced, with the reason, and a rule
    that does not fit the model (a block selection on a network without residual stages).
    """
    replace = replace.strip()
    if replace == "none":
        return ()
    if replace == EQUAL_3X3:
        return tuple(_equal_3x3(model))
    if replace in NAMED_SELECTIONS or ":" in replace:
        if not is_residual(model):
            raise ValueError(
                f"replace={replace!r} selects residual blocks, and {type(model).__name__} has no stages "
                f"layer1..layer4 of blocks; use '{EQUAL_3X3}', 'none' or conv names joined by '+'"
            )
        blocks = select_blocks(replace, [len(getattr(model, name)) for name in LAYER_NAMES])
        names = [f"{layer}.{index}.conv2" for layer, indices in blocks.items() for index in indices]
    else:
        names = _named_convs(model, replace)
    modules = dict(model.named_modules())
    problems = [f"{name} {problem}" for name in names if (problem := replacement_problem(modules[name]))]
    if problems:
        raise ValueError(f"replace={replace!r} picks convs that a temporal module cannot replace: "
                         f"{'; '.join(problems)}; leave them out of replace (or use '{EQUAL_3X3}')")
    return tuple(names)
