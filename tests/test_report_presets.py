"""Report presets hold only what differs from the notebooks' own defaults (one source of truth)."""

from pathlib import Path

import pytest

from ctnet_lib.reports.notebooks import find_notebooks, parameter_defaults
from ctnet_lib.reports.presets import ReportPreset, available_presets, load_preset, values_equal_to_defaults

REPO = Path(__file__).resolve().parents[1]
PRESETS_DIR = REPO / "reports" / "presets"
DEFAULTS = {stem: parameter_defaults(path) for stem, path in find_notebooks(REPO / "notebooks").items()}


@pytest.mark.parametrize("name", available_presets(PRESETS_DIR))
def test_presets_hold_only_values_that_differ_from_the_notebook_defaults(name):
    assert values_equal_to_defaults(load_preset(name, PRESETS_DIR), DEFAULTS) == []


def test_a_restated_default_is_found():
    defaults = {"a": {"size": 64, "seed": 0}, "b": {"seed": 0, "frames": 8}}
    preset = ReportPreset("p", defaults={"seed": 0, "frames": 4},
                    notebooks={"a": {"size": 64}, "b": {"frames": 16}})
    assert values_equal_to_defaults(preset, defaults) == ["a.size=64", "defaults.seed=0"]
