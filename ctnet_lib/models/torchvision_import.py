"""``torchvision.models``, importable beside a CPU-only torch.

torchvision's wheels on PyPI are built against CUDA torch; beside the CPU build of torch their C extension
(detection ops such as ``nms``) cannot load, and ``import torchvision`` then fails while registering a
fake kernel for ``torchvision::nms`` (pytorch/vision#9085). The architectures need none of those ops: when
that failure happens, the two op schemas are declared (without kernels, so calling them still fails) and
the import is retried.
"""

from __future__ import annotations

from types import ModuleType

import torch

# schemas of the ops torchvision's _meta_registrations registers fakes for unconditionally
_DETECTION_OP_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_declared: list[torch.library.Library] = []  # kept alive: a collected Library drops its definitions


def torchvision_models() -> ModuleType:
    """The ``torchvision.models`` module (ImportError with the fix when torchvision is missing)."""
    try:
        import torchvision.models as models
    except ModuleNotFoundError:
        raise ImportError(
            "torchvision is not installed; install the pinned version with "
            "`pip install -c requirements/constraints.txt torchvision`"
        ) from None
    except RuntimeError as error:
        if "torchvision::nms does not exist" not in str(error) or _declared:
            raise
        library = torch.library.Library("torchvision", "FRAGMENT")
        for schema in _DETECTION_OP_SCHEMAS:
            library.define(schema)
        _declared.append(library)
        import torchvision.models as models
    return models
