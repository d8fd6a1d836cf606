"""``index.json`` and ``index.html`` of a report folder: every report with its parameters, duration,
status and links.

Running a subset of the notebooks updates their rows and keeps the others from the previous index (as
long as their HTML is still there), so the index always lists every report in the folder.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from ctnet_lib.io_utils import atomic_write_text
from ctnet_lib.reports.runner import ReportResult

INDEX_JSON = "index.json"
INDEX_HTML = "index.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.4rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.ok { color: #1a7f37; font-weight: bold; }
td.failed { color: #c62828; font-weight: bold; }
code { font-size: 0.9em; }
.error { color: #c62828; font-weight: normal; font-family: monospace; }
"""


def previous_results(output_dir: Path) -> list[ReportResult]:
    """The reports listed by an existing ``index.json`` whose HTML still exists (none if unreadable)."""
    try:
        content = json.loads((output_dir / INDEX_JSON).read_text(encoding="utf-8"))
        results = [ReportResult(**record) for record in content["reports"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [result for result in results if (output_dir / result.html).exists()]


def merge_results(previous: Sequence[ReportResult], current: Sequence[ReportResult]) -> list[ReportResult]:
    """``current`` plus the ``previous`` reports of other notebooks, sorted by notebook name."""
    by_name = {result.name: result for result in previous}
    by_name.update({result.name: result for result in current})
    return [by_name[name] for name in sorted(by_name)]


def index_data(preset: str, description: str, results: Sequence[ReportResult]) -> dict:
    """The machine-readable index (the content of ``index.json``)."""
    return {
        "preset": preset,
        "description": description,
        "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reports": [result.to_dict() for result in results],
    }


def render_index_html(data: dict) -> str:
    """A self-contained HTML page (no scripts, no external files) of :func:`index_data`."""
    failed = sum(record["status"] != "ok" for record in data["reports"])
    title = f"ctnet-lab reports: preset {data['preset']}"
    rows = "\n".join(_row(record) for record in data["reports"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>{html.escape(data["description"])}</p>
<p>{_count(len(data["reports"]), "report")}, {failed} failed; updated {html.escape(data["updated_at"])}.</p>
<table>
<thead><tr><th>report</th><th>status</th><th>duration</th><th>parameters</th><th>files</th>\
<th>finished (UTC)</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _row(record: dict) -> str:
    """One table row of the index page."""
    name, status = html.escape(record["name"]), html.escape(record["status"])
    error = f'<br><span class="error">{html.escape(record["error"])}</span>' if record["error"] else ""
    parameters = "<br>".join(
        f"<code>{html.escape(key)} = {html.escape(json.dumps(value))}</code>"
        for key, value in record["parameters"].items()
    )
    links = (
        f'<a href="{html.escape(record["html"])}">html</a> · '
        f'<a href="{html.escape(record["notebook"])}">ipynb</a>'
    )
    return (
        f'<tr><td><a href="{html.escape(record["html"])}">{name}</a></td>'
        f'<td class="{status}">{status}{error}</td><td>{record["duration_s"]:.1f} s</td>'
        f"<td>{parameters or '(notebook defaults)'}</td><td>{links}</td>"
        f"<td>{html.escape(record['finished_at'])} · kernel {html.escape(record['kernel'])}</td></tr>"
    )


def write_index(output_dir: Path, preset: str, description: str, results: Sequence[ReportResult]) -> Path:
    """Merge ``results`` into the folder's index and write ``index.json`` and ``index.html``; return the
    path of ``index.html``."""
    data = index_data(preset, description, merge_results(previous_results(output_dir), results))
    atomic_write_text(output_dir / INDEX_JSON, json.dumps(data, indent=2) + "\n")
    return atomic_write_text(output_dir / INDEX_HTML, render_index_html(data))
