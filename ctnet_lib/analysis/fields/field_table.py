"""Tables of interaction fields: the paper's Table 1 recomputed from the modules, and growth per step.

Every number in these tables is measured by gradient probing (``interaction_field``); only the
``paper_*`` columns are typed in, as the statements of the paper's Table 1 / Figure 1 to compare with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ctnet_lib.analysis.fields.interaction_field import InteractionField, interaction_fields
from ctnet_lib.ops.module_registry import PaperClaim, baseline_kinds, module_kind, module_kinds
from ctnet_lib.ops.temporal_modules import TemporalModuleConfig


def paper_claims(config: TemporalModuleConfig, channels: int) -> list[PaperClaim | None]:
    """The paper's statement per step of one module of ``config`` (None for steps it omits, such as PWConv).

    The statements live in each kind's registry entry (CT: after sub-operation k, C1 x ... x Ck channels
    and a (2k + 1)^3 field for 3-kernels).
    """
    kind = module_kind(config.kind)
    if kind.paper_claims is None:
        with_claims = [k.name for k in module_kinds() if k.paper_claims is not None]
        raise ValueError(f"kind {config.kind!r} is not in Table 1; use one of {with_claims}")
    return kind.paper_claims(config, channels)


def table_configs(
    ct_sub_dims: Sequence[int] = (2, 3), kernel: int = 3, connection: str = "parallel"
) -> list[tuple[str, TemporalModuleConfig]]:
    """(label, config) for the rows of Table 1: C3D, R(2+1)D, CSN and CT with each K in ``ct_sub_dims``."""
    rows = [(kind.label, TemporalModuleConfig(kind=kind.name)) for kind in baseline_kinds()]
    for k in ct_sub_dims:
        config = TemporalModuleConfig(kind="ct", num_sub_dims=k, kernels=(kernel,), connection=connection)
        rows.append((f"CT (K={k})", config))
    return rows


def _extent_text(extent: Sequence[int]) -> str:
    return "x".join(str(v) for v in extent)


def _difference_note(field: InteractionField, claim: PaperClaim | None) -> str:
    if claim is None:
        return "not in the paper's Table 1"
    notes = []
    if field.num_channels != claim.channels:
        notes.append(f"{field.num_channels} channels, not {claim.channels}")
    if field.extent != claim.extent:
        notes.append(f"box {_extent_text(field.extent)}, not {_extent_text(claim.extent)}")
    if field.volume < field.box_volume:
        notes.append(
            f"exact field is {field.volume} of the {field.box_volume} voxels of its "
            f"{_extent_text(field.extent)} box ({100 * field.volume / field.box_volume:.0f} %)"
        )
    return "; ".join(notes)


def field_rows(label: str, fields: Sequence[InteractionField], claims: Sequence[PaperClaim | None]) -> list:
    """One table row per step: measured field beside the paper's claim."""
    rows = []
    for field, claim in zip(fields, claims, strict=True):
        letters = claim.interacts.split("_")[0] if claim else None
        rows.append({
            "module": label,
            "step": field.step,
            "sub_operation": field.name,
            "interacts": field.interacting_dims,
            "mixed_channels": field.local_channels,
            "paper_interacts": claim.interacts if claim else "",
            "channels": field.num_channels,
            "paper_channels": claim.channels if claim else None,
            "field_box": _extent_text(field.extent),
            "paper_field": _extent_text(claim.extent) if claim else "",
            "voxels": field.volume,
            "box_voxels": field.box_volume,
            "matches_paper": bool(
                claim
                and field.interacting_dims == letters
                and field.num_channels == claim.channels
                and field.extent == claim.extent
                and field.volume == field.box_volume
            ),
            "note": _difference_note(field, claim),
        })
    return rows


def interaction_table(
    channels: int = 64,
    ct_sub_dims: Sequence[int] = (2, 3),
    kernel: int = 3,
    connection: str = "parallel",
    seed: int = 0,
) -> pd.DataFrame:
    """Table 1 recomputed: one row per sub-operation of C3D, R(2+1)D, CSN and CT (each K).

    Columns: module, step, sub_operation, interacts (S/T/C mixed by the step itself), mixed_channels,
    channels (input channels reaching the unit), field_box (t x h x w bounding box), voxels (exact
    field size), box_voxels, the paper's interacts / channels / field, matches_paper and a note
    saying how the exact field differs from the paper's statement.
    """
    rows = []
    for label, config in table_configs(ct_sub_dims, kernel, connection):
        fields = interaction_fields(config, channels, seed=seed)
        rows += field_rows(label, fields, paper_claims(config, channels))
    return pd.DataFrame(rows)


def field_summary(fields: Sequence[InteractionField]) -> pd.DataFrame:
    """One row per step of any field list: step, name, interacts, channels, extent, voxels, box voxels."""
    return pd.DataFrame([
        {
            "step": f.step,
            "sub_operation": f.name,
            "interacts": f.interacting_dims,
            "mixed_channels": f.local_channels,
            "channels": f.num_channels,
            "field_box": _extent_text(f.extent),
            "voxels": f.volume,
            "box_voxels": f.box_volume,
        }
        for f in fields
    ])


def growth_table(
    channels: int = 16,
    max_steps: int = 6,
    ct_sub_dims: Sequence[int] = (2, 3),
    kernel: int = 3,
    connection: str = "parallel",
    seed: int = 0,
) -> pd.DataFrame:
    """Field size after 1..``max_steps`` sub-operations of stacked modules, for every Table 1 module.

    Columns: module, step, channels, channel_fraction (of C), voxels (exact), box_voxels, box_side
    (largest bounding-box side).
    """
    rows = []
    for label, config in table_configs(ct_sub_dims, kernel, connection):
        per_module = len(paper_claims(config, channels))
        num_modules = math.ceil(max_steps / per_module)
        for field in interaction_fields(config, channels, num_modules, seed=seed)[:max_steps]:
            rows.append({
                "module": label,
                "step": field.step,
                "channels": field.num_channels,
                "channel_fraction": field.num_channels / channels,
                "voxels": field.volume,
                "box_voxels": field.box_volume,
                "box_side": max(field.extent),
            })
    return pd.DataFrame(rows)
