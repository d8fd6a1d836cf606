"""Parameter presets for the reports: YAML files ``<presets_dir>/<name>.yaml`` of this shape::

    description: one line that says what the preset is for
    defaults:            # passed to every notebook that declares the parameter, ignored by the others
      seed: 0
    notebooks:           # per notebook (file stem); each key must be declared by that notebook
      00_quickstart:
        num_frames: 4

Precedence: ``defaults`` < ``notebooks.<stem>`` < ``-p KEY VALUE`` overrides on the command line.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ctnet_lib.options import CliError
from ctnet_lib.parsed_files import read_yaml_mapping

PRESET_KEYS = ("description", "defaults", "notebooks")


@dataclass(frozen=True)
class ReportPreset:
    """One preset file: shared defaults and per-notebook parameters."""

    name: str
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)


def available_presets(presets_dir: Path) -> list[str]:
    """Names of the presets in ``presets_dir`` (file stems of ``*.yaml``), sorted."""
    return sorted(path.stem for path in presets_dir.glob("*.yaml"))


def load_preset(name: str, presets_dir: Path) -> ReportPreset:
    """Read and check ``<presets_dir>/<name>.yaml``."""
    valid = available_presets(presets_dir)
    if name not in valid:
        listed = ", ".join(valid) or f"none in {presets_dir}"
        raise CliError(f"unknown preset {name!r}; valid presets: {listed}")
    path = presets_dir / f"{name}.yaml"
    try:
        content = read_yaml_mapping(path, "preset file", "description: my settings", allow_empty=True).values
    except ValueError as error:
        raise CliError(str(error)) from None
    return _preset_from_mapping(name, content, path)


def _preset_from_mapping(name: str, content: Any, path: Path) -> ReportPreset:
    """Check the shape of a parsed preset file and build the :class:`ReportPreset`."""
    if not isinstance(content, dict) or set(content) - set(PRESET_KEYS):
        raise CliError(f"{path}: expected a mapping with the keys {', '.join(PRESET_KEYS)}")
    defaults = content.get("defaults") or {}
    notebooks = content.get("notebooks") or {}
    if not isinstance(defaults, dict):
        raise CliError(f"{path}: 'defaults' must map parameter names to values")
    if not isinstance(notebooks, dict) or not all(isinstance(v or {}, dict) for v in notebooks.values()):
        raise CliError(f"{path}: 'notebooks' must map each notebook name to its parameters")
    return ReportPreset(
        name=name,
        description=str(content.get("description") or ""),
        defaults=dict(defaults),
        notebooks={str(stem): dict(values or {}) for stem, values in notebooks.items()},
    )


def parse_overrides(pairs: Sequence[Sequence[str]]) -> dict[str, Any]:
    """``[("size", "112"), ("kernels", "[1, 3]")]`` -> ``{"size": 112, "kernels": [1, 3]}``: each value
    is read as YAML, so numbers, booleans, lists and strings come out typed. The last of a repeated key
    wins."""
    overrides = {}
    for key, text in pairs:
        try:
            overrides[key] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise CliError(f"-p {key} {text!r}: the value is not valid YAML (quote strings)") from None
    return overrides


def check_preset_notebooks(preset: ReportPreset, notebook_names: Collection[str]) -> None:
    """Reject a preset that names a notebook the suite does not have (a typo or a stale entry)."""
    unknown = sorted(set(preset.notebooks) - set(notebook_names))
    if unknown:
        raise CliError(
            f"preset {preset.name!r} names unknown notebook {', '.join(unknown)}; "
            f"notebooks: {', '.join(notebook_names)}"
        )


def resolve_parameters(
    preset: ReportPreset, declared: Mapping[str, Collection[str]], overrides: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Parameters to pass to each notebook: ``{stem: {name: value}}``.

    ``declared`` maps each selected notebook to the parameter names its ``parameters`` cell declares;
    only those are passed. A preset entry for a parameter its notebook does not declare, or an override
    that no selected notebook declares, is an error naming the valid parameters.
    """
    _check_overrides(overrides, declared)
    return {stem: _parameters_for(preset, stem, set(names), overrides) for stem, names in declared.items()}


def _parameters_for(
    preset: ReportPreset, stem: str, names: set[str], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge defaults < per-notebook values < overrides for one notebook that declares ``names``."""
    specific = preset.notebooks.get(stem, {})
    undeclared = sorted(set(specific) - names)
    if undeclared:
        raise CliError(
            f"preset {preset.name!r}: notebook {stem} does not declare {', '.join(undeclared)}; "
            f"it declares: {', '.join(sorted(names)) or 'nothing'}"
        )
    merged = {key: value for key, value in preset.defaults.items() if key in names}
    merged.update(specific)
    merged.update({key: value for key, value in overrides.items() if key in names})
    return merged


def _check_overrides(overrides: Mapping[str, Any], declared: Mapping[str, Collection[str]]) -> None:
    """Every ``-p`` key must be declared by at least one selected notebook."""
    valid = sorted({name for names in declared.values() for name in names})
    unknown = [key for key in overrides if key not in valid]
    if unknown:
        raise CliError(
            f"-p {', '.join(unknown)}: no selected notebook declares it; "
            f"valid parameters: {', '.join(valid) or 'none'}"
        )


def type_mismatch(value: Any, default: Any) -> str | None:
    """Why ``value`` cannot replace a parameter whose default is ``default`` (``None`` when it can).

    The default's type is the parameter's type: an int takes an int, a float an int or a float, a string
    a string or a list (a keyword such as ``"all"`` or a list of names), a bool, a list or a mapping only
    its own kind; a ``None`` default takes anything.
    """
    if default is None:
        return None
    accepted = {bool: (bool,), int: (int,), float: (int, float), str: (str, list), list: (list,),
                tuple: (list, tuple), dict: (dict,)}.get(type(default), (object,))
    if isinstance(value, accepted) and not (isinstance(value, bool) and bool not in accepted):
        return None
    return f"expected {type(default).__name__} like its default {default!r}, got {type(value).__name__}"


def check_parameter_types(
    parameters: Mapping[str, Mapping[str, Any]], defaults: Mapping[str, Mapping[str, Any]]
) -> None:
    """Reject a value whose type does not fit the notebook's ``parameters`` cell, before anything runs
    (``parameters`` and ``defaults``: ``{stem: {name: value}}``)."""
    for stem, values in parameters.items():
        for name, value in values.items():
            problem = type_mismatch(value, defaults[stem].get(name))
            if problem:
                raise CliError(f"parameter {name} = {value!r} for {stem}: {problem}")


def values_equal_to_defaults(preset: ReportPreset, defaults: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Preset entries that restate a notebook default (``defaults``: {stem: {name: value}}).

    A per-notebook value is redundant when it equals that notebook's default; a shared default when it
    equals the default of every notebook that declares it. A preset holds only what differs.
    """
    redundant = [
        f"{stem}.{name}={value!r}"
        for stem, values in preset.notebooks.items()
        for name, value in values.items()
        if name in defaults.get(stem, {}) and defaults[stem][name] == value
    ]
    for name, value in preset.defaults.items():
        declaring = [values[name] for values in defaults.values() if name in values]
        if declaring and all(default == value for default in declaring):
            redundant.append(f"defaults.{name}={value!r}")
    return redundant
