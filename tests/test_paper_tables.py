import math

import pytest

from ctnet_lib.analysis.counting.formulas import network_cost
from ctnet_lib.analysis.counting.paper_tables import (
    PAPER_TOLERANCE_PCT,
    ReferenceRow,
    network_sweep,
    reference_rows,
    reproduce_paper_table,
    select_reference_rows,
    temporal_config_of,
)
from ctnet_lib.models import PRESETS, build_model, list_presets
from ctnet_lib.ops import TemporalModuleConfig

COLUMNS = ["row", "preset", "options", "frames", "size", "gmacs", "paper_gmacs", "rel_error_pct", "params_m",
           "paper_params_m"]


def test_reference_rows_are_the_spec_table():
    rows = reference_rows()
    assert len(rows) == 18 and len({r.row for r in rows}) == 18
    assert all(r.preset in list_presets() for r in rows)
    by_name = {r.row: r for r in rows}
    assert by_name["CT-Net at 224x224"].size == 224 and by_name["CT-Net, 16 frames"].frames == 16
    assert dict(by_name["C2 = 4"].options) == {"last_sub_dim": 4}
    assert by_name["CT-Net (+ PWConv + TE)"].paper_params_m == 21.0


def test_reproduction_columns_and_error_on_a_small_row():
    row = ReferenceRow("small CT-Net", "-", "ctnet_small", paper_gmacs=1.0, options={"kernels": "1,3"},
                       frames=2, size=32, num_classes=5)
    table = reproduce_paper_table([row])
    assert list(table.columns[: len(COLUMNS)]) == COLUMNS
    record = table.iloc[0]
    assert record["rel_error_pct"] == pytest.approx(100 * (record["gmacs"] - 1.0))
    assert math.isnan(record["paper_params_m"])
    model = build_model("ctnet_small", num_classes=5, kernels="1,3")
    assert record["params_m"] == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6)


def test_row_selection_and_empty_table():
    assert select_reference_rows("none") == [] and len(select_reference_rows("all")) == 18
    assert [r.row for r in select_reference_rows(["K = 3", "C3D-Module"])] == ["C3D-Module", "K = 3"]
    with pytest.raises(ValueError, match="unknown paper-table rows"):
        select_reference_rows(["K = 7"])
    assert list(reproduce_paper_table([]).columns[: len(COLUMNS)]) == COLUMNS


def test_temporal_config_of_a_preset_without_building_it():
    assert temporal_config_of("ctnet_r50") == TemporalModuleConfig(pwconv=True, excitation="te")
    assert temporal_config_of("ctmodule_r50", {"last_sub_dim": "4"}).last_sub_dim == 4
    with pytest.raises(ValueError, match="not temporal-module options"):
        temporal_config_of("ctnet_r50", {"dropout": 0.1})


def test_network_sweep_pairs_closed_forms_with_the_papers_numbers():
    sweep = network_sweep("num_sub_dims", [1, 2], preset="ctmodule_small", frames=2, size=32)
    assert sweep["value"].tolist() == [1, 2] and sweep["paper_gmacs"].isna().all()
    assert sweep["gmacs"].iloc[0] > sweep["gmacs"].iloc[1]


@pytest.mark.slow
def test_k_sweep_matches_the_paper():
    sweep = network_sweep("num_sub_dims", [1, 2, 3, 4])
    assert ((sweep["gmacs"] - sweep["paper_gmacs"]).abs() / sweep["paper_gmacs"] < 0.01).all()


@pytest.mark.slow
def test_every_paper_row_is_reproduced_within_one_percent_or_its_explained_tolerance():
    table = reproduce_paper_table()
    assert len(table) == 18
    assert (table.loc[table["note"] == "", "tolerance_pct"] == PAPER_TOLERANCE_PCT).all()
    assert (table["rel_error_pct"].abs() < table["tolerance_pct"]).all()
    with_params = table.dropna(subset=["paper_params_m"])
    relative = (with_params["params_m"] - with_params["paper_params_m"]).abs() / with_params["paper_params_m"]
    assert (relative < with_params["tolerance_pct"] / 100).all()
    for reference, (_, measured) in zip(reference_rows(), table.iterrows(), strict=True):
        config = temporal_config_of(reference.preset, reference.options)
        backbone = PRESETS[reference.preset].backbone
        formula = network_cost(config, reference.frames, reference.size, backbone=backbone)
        assert formula.gmacs == pytest.approx(measured["gmacs"], abs=1e-9), reference.row
