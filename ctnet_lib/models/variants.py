"""The model variants of the zoo, one row each, and the facts every backbone shares.

A variant (family) is what a preset name starts with (``ctnet`` in ``ctnet_r50``): the temporal-module
fields it fixes and the label tables and figures print. Presets are ``<family>_<backbone>`` for every
backbone (``models.presets``); a family whose module is a registered kind prints that kind's label, so a
label is written once, here or in the registry (``ops.module_registry``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ctnet_lib.ops.module_registry import module_kind

# Something-Something V1's classes: the default head of every model, as in the paper's tables
DEFAULT_NUM_CLASSES = 174
# the clip length of the paper's tables and of the authors' release
DEFAULT_NUM_FRAMES = 8


@dataclass(frozen=True)
class ModelFamily:
    """A variant: its preset prefix ``name``, the ``TemporalModuleConfig`` fields it fixes
    (``temporal``) and, for variants that are not a registered module kind as it is, its ``own_label``."""

    name: str
    temporal: Mapping[str, Any]
    own_label: str | None = None

    @property
    def label(self) -> str:
        """How tables and figures name it: 'TSN', 'R(2+1)D', 'CT-Net', ..."""
        return self.own_label or module_kind(self.temporal["kind"]).label

    def preset(self, backbone: str) -> str:
        """The preset of this variant on ``backbone`` (``r50``, ``small``, ``inception_v3``, ...)."""
        return f"{self.name}_{backbone}"


def _family(name: str, own_label: str | None = None, **temporal: Any) -> ModelFamily:
    return ModelFamily(name, MappingProxyType(temporal), own_label)


FAMILIES: dict[str, ModelFamily] = {family.name: family for family in (
    _family("tsn", "TSN", kind="none"),
    _family("c3d", kind="c3d"),
    _family("r2plus1d", kind="r2plus1d"),
    _family("csn", kind="csn"),
    _family("ctmodule", kind="ct", pwconv=False, excitation="none"),
    _family("ctnet", "CT-Net", kind="ct", pwconv=True, excitation="te"),
)}
BASELINE_FAMILY = FAMILIES["tsn"]  # the 2D network every temporal variant is measured against


def family_presets(backbone: str, families: tuple[str, ...] = tuple(FAMILIES)) -> dict[str, str]:
    """label -> preset of each of ``families`` (default: all) on ``backbone``."""
    return {FAMILIES[name].label: FAMILIES[name].preset(backbone) for name in families}
