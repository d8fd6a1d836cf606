"""The whole report run: plan (which notebooks, which parameters), execute each, write the index."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctnet_lib.reports.index_page import write_index
from ctnet_lib.reports.layout import NOTEBOOKS_DIR, OUTPUT_DIR, PRESETS_DIR
from ctnet_lib.reports.notebooks import (
    declared_parameters,
    find_notebooks,
    literal_defaults,
    select_notebooks,
)
from ctnet_lib.reports.presets import (
    ReportPreset,
    check_parameter_types,
    check_preset_notebooks,
    load_preset,
    resolve_parameters,
)
from ctnet_lib.reports.runner import ReportResult, run_report


@dataclass(frozen=True)
class ReportPlan:
    """The selected notebooks, what each declares, and the parameters each will get."""

    preset: ReportPreset
    notebooks: dict[str, Path]
    declared: dict[str, dict[str, dict[str, str]]]
    parameters: dict[str, dict[str, Any]]


def plan_reports(
    preset_name: str,
    names: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    presets_dir: Path = PRESETS_DIR,
) -> ReportPlan:
    """Load the preset, select the notebooks, and check and merge the parameters (names and types: errors
    before any run)."""
    preset = load_preset(preset_name, presets_dir)
    every_notebook = find_notebooks(notebooks_dir)
    check_preset_notebooks(preset, list(every_notebook))
    notebooks = select_notebooks(every_notebook, names)
    declared = {stem: declared_parameters(path) for stem, path in notebooks.items()}
    parameters = resolve_parameters(preset, declared, overrides or {})
    check_parameter_types(parameters, {stem: literal_defaults(info) for stem, info in declared.items()})
    return ReportPlan(preset, notebooks, declared, parameters)


def remove_stale_temporaries(folder: Path, stems: Iterable[str]) -> list[Path]:
    """Delete the temporary files (``.<stem>.<random>.tmp.<ext>``) that a killed run left for ``stems``
    and for the index; return them."""
    stale = [path for stem in [*stems, "index"] for path in folder.glob(f".{stem}.*.tmp.*")]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def run_suite(
    plan: ReportPlan,
    kernel: str,
    output_dir: Path = OUTPUT_DIR,
    hide_code: bool = False,
    progress_bar: bool = True,
    cell_timeout_s: float | None = None,
    log: Callable[[str], Any] = print,
) -> list[ReportResult]:
    """Run every planned notebook into ``output_dir/<preset>/`` (a failure does not stop the others) and
    return this run's results. The index there is updated after each notebook, so an interrupted run
    still lists the reports it finished."""
    folder = output_dir / plan.preset.name
    remove_stale_temporaries(folder, plan.notebooks)
    results = []
    for number, (stem, notebook) in enumerate(plan.notebooks.items(), start=1):
        counter = f"[{number}/{len(plan.notebooks)}] {stem}"
        log(f"{counter}: running with {plan.parameters[stem] or 'the notebook defaults'}")
        result = run_report(
            notebook, folder, plan.parameters[stem], kernel, hide_code, progress_bar, cell_timeout_s
        )
        results.append(result)
        index = write_index(folder, plan.preset.name, plan.preset.description, results)
        error = f": {result.error}" if result.error else ""
        log(f"{counter}: {result.status} in {result.duration_s:.1f} s{error}")
    log(f"index: {index}")
    return results
