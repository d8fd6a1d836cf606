"""The configurations of the paper's Table 2 ablations (a, b, c, g) on one backbone: one table.

Each configuration is a model variant plus model options (``variants.FAMILIES``, ``presets.OPTIONS``),
with the paper's Something-Something V1 top-1 (ResNet-50, 8 frames) in every sub-table it appears in.
The study runner (``train.ablation``) trains them; the analysis (``analysis.accuracy.ablation_results``) reads
this table to group results and to compare them with the paper's orderings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ctnet_lib.models.presets import model_config
from ctnet_lib.models.variants import FAMILIES

__all__ = ["ABLATION_BACKBONE", "ABLATION_CONFIGS", "SUB_TABLES", "AblationConfig", "ablation_config",
           "sub_table_configs"]

ABLATION_BACKBONE = "small"
# sub-table -> what it varies (paper Table 2)
SUB_TABLES: dict[str, str] = {
    "2a": "temporal module",
    "2b": "K, the number of sub-dimensions",
    "2c": "connection of the K convolutions",
    "2g": "PWConv and excitation on top of the CT-Module",
}


@dataclass(frozen=True)
class AblationConfig:
    """One row: ``family`` (a key of ``variants.FAMILIES``) on :data:`ABLATION_BACKBONE` with
    ``options``; ``paper_top1``: the paper's top-1 (%) per sub-table this row belongs to."""

    name: str
    label: str
    family: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    paper_top1: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def preset(self) -> str:
        return FAMILIES[self.family].preset(ABLATION_BACKBONE)


def _config(
    name: str, family: str, paper_top1: dict[str, float], label: str | None = None, **options: Any
) -> AblationConfig:
    """A row labelled ``label``, or, without options, as its variant is (``variants.FAMILIES``)."""
    return AblationConfig(name, label or FAMILIES[family].label, family, MappingProxyType(options),
                          MappingProxyType(paper_top1))


# the one home of the study's configurations; the CT-Module is K = 2, parallel, in 2a, 2b, 2c and 2g
ABLATION_CONFIGS: dict[str, AblationConfig] = {c.name: c for c in (
    _config("tsn", "tsn", {"2g": 16.9}),
    _config("c3d", "c3d", {"2a": 46.1}),
    _config("r2plus1d", "r2plus1d", {"2a": 47.0}),
    _config("csn", "csn", {"2a": 46.8}),
    _config("ctmodule", "ctmodule", {"2a": 47.3, "2b": 47.3, "2c": 47.3, "2g": 47.3}),
    _config("ctmodule_k1", "ctmodule", {"2b": 46.5}, "CT-Module K=1", num_sub_dims=1),
    _config("ctmodule_k3", "ctmodule", {"2b": 47.1}, "CT-Module K=3", num_sub_dims=3),
    _config("ctmodule_k4", "ctmodule", {"2b": 46.5}, "CT-Module K=4", num_sub_dims=4),
    _config("ctmodule_coupled", "ctmodule", {"2c": 47.1}, "CT-Module coupled", connection="coupled"),
    _config("ctmodule_serial", "ctmodule", {"2c": 47.2}, "CT-Module serial", connection="serial"),
    _config("ctmodule_pwconv", "ctmodule", {"2g": 48.0}, "+ PWConv", pwconv=True),
    _config("ctmodule_pwconv_se", "ctmodule", {"2g": 48.8}, "+ PWConv + SE", pwconv=True, excitation="se"),
    _config("ctnet", "ctnet", {"2g": 50.1}, "+ PWConv + TE (CT-Net)"),
)}
for _row in ABLATION_CONFIGS.values():
    model_config(_row.preset, **_row.options)  # a typo in the table fails on import, not mid-study


def ablation_config(name: str) -> AblationConfig:
    """The configuration ``name``; ValueError names the valid ones."""
    if name not in ABLATION_CONFIGS:
        raise ValueError(f"unknown ablation configuration {name!r}; valid: {', '.join(ABLATION_CONFIGS)}")
    return ABLATION_CONFIGS[name]


def sub_table_configs(sub_table: str) -> list[AblationConfig]:
    """The rows of ``sub_table`` (a key of :data:`SUB_TABLES`) in table order."""
    if sub_table not in SUB_TABLES:
        raise ValueError(f"unknown sub-table {sub_table!r}; valid: {', '.join(SUB_TABLES)}")
    return [config for config in ABLATION_CONFIGS.values() if sub_table in config.paper_top1]
