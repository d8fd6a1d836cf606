"""Which bottleneck blocks receive the temporal module (the ``replace`` option)."""

from __future__ import annotations

from collections.abc import Sequence

LAYER_NAMES = ("layer1", "layer2", "layer3", "layer4")
NAMED_SELECTIONS = ("every_other", "all_but_first", "all", "none")
DEFAULT_REPLACE = "every_other"  # the paper's 7 blocks of ResNet-50


def select_blocks(spec: str, blocks_per_layer: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Parse ``spec`` into {layer name: block indices}.

    ``spec`` is a named selection (``every_other``: blocks 1, 3, 5... of each stage, the paper's 7 of
    ResNet-50; ``all_but_first``; ``all``; ``none``) or an explicit list such as
    ``layer3:1,3,5+layer4:1``. Raises ValueError naming the spec and what is valid.
    """
    spec = spec.strip()
    counts = dict(zip(LAYER_NAMES, blocks_per_layer, strict=True))
    if spec == "none":
        return {}
    if spec in ("every_other", "all_but_first", "all"):
        start, step = {"every_other": (1, 2), "all_but_first": (1, 1), "all": (0, 1)}[spec]
        return {name: tuple(range(start, n, step)) for name, n in counts.items() if n > start}
    selection: dict[str, tuple[int, ...]] = {}
    for part in spec.split("+"):
        name, _, indices = part.strip().partition(":")
        if name not in counts or not indices:
            raise ValueError(
                f"replace={spec!r}: {part!r} is not 'layerN:i,j,...' with N in 1-4; "
                f"or use one of {NAMED_SELECTIONS}"
            )
        try:
            chosen = tuple(sorted({int(i) for i in indices.split(",")}))
        except ValueError:
            raise ValueError(f"replace={spec!r}: block indices in {part!r} must be integers") from None
        if chosen[0] < 0 or chosen[-1] >= counts[name]:
            raise ValueError(
                f"replace={spec!r}: {name} has blocks 0..{counts[name] - 1}, got {list(chosen)}"
            )
        selection[name] = chosen
    return selection
