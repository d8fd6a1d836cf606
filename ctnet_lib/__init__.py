"""ctnet_lib: the library behind the ctnet-lab notebooks (CT-Net, Li et al., ICLR 2021).

``build_model`` and ``list_presets`` are imported lazily so that light sub-packages (data, reports)
load without building the model registry.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_model", "list_presets"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ctnet_lib import models

        return getattr(models, name)
    raise AttributeError(f"module 'ctnet_lib' has no attribute {name!r}")
