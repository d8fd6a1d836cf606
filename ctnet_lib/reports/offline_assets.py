"""The page helpers a report's HTML needs, shipped beside the reports so that pages work offline.

nbconvert's template loads three scripts from CDNs: require.js, MathJax (formulas in markdown) and the
widget manager that draws saved ipywidgets views. Each report folder gets a copy in ``_static/`` and the
pages refer to it by a relative path:

* MathJax 2 from the ``jupyter-server-mathjax`` package,
* require.js from the ``voila`` package,
* ``@jupyter-widgets/html-manager`` from the archive vendored in ``ctnet_lib/reports/vendor/`` (no
  Python package ships it; see the README there), checked by its SHA-256 before it is unpacked.

The set-up runs ``python -m ctnet_lib.reports.offline_assets``, which fails, naming the missing file,
when any of the three cannot be found.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import jupyter_server_mathjax

from ctnet_lib.io_utils import atomic_write_text

STATIC_DIR = "_static"
HTML_MANAGER_VERSION = "1.0.15"  # @jupyter-widgets/html-manager for ipywidgets 8
VENDOR_DIR = Path(__file__).parent / "vendor"
HTML_MANAGER_ARCHIVE = VENDOR_DIR / f"jupyter-widgets-html-manager-{HTML_MANAGER_VERSION}.tar.gz"
HTML_MANAGER_SHA256 = "b0eaeded16f3259ad1bdf7dd6fc21859497eac629580c0b94723155168dd5ca9"
MATHJAX_DIR = Path(jupyter_server_mathjax.__file__).parent / "static"
REQUIRE_JS = Path(sys.prefix, "share/jupyter/voila/templates/base/static/require.min.js")
MATHJAX_FONTS_CONFIG = "ctnet-offline"
MATHJAX_CONFIG = f"TeX-AMS-MML_HTMLorMML-full,Safe,{MATHJAX_FONTS_CONFIG}"  # config/<name>.js, in order
# the package ships the STIX-Web fonts only (as the classic notebook configures them)
MATHJAX_FONTS_JS = f"""MathJax.Hub.Config({{
  "HTML-CSS": {{availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}},
  SVG: {{font: "STIX-Web"}}
}});
MathJax.Ajax.loadComplete("[MathJax]/config/{MATHJAX_FONTS_CONFIG}.js");
"""


@dataclass(frozen=True)
class AssetUrls:
    """URLs (relative to a report page) of its helpers."""

    mathjax: str
    require_js: str
    widget_renderer: str


def check_report_assets() -> None:
    """Raise ``FileNotFoundError`` naming the helper that is missing, and ``ValueError`` when the
    vendored widget manager is not the archive this code was written for."""
    for path, source in ((MATHJAX_DIR / "MathJax.js", "the jupyter-server-mathjax package"),
                         (REQUIRE_JS, "the voila package"),
                         (HTML_MANAGER_ARCHIVE, "the repository (ctnet_lib/reports/vendor/)")):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: it comes with {source}; reinstall the environment "
                                    "(rm -rf .venv && make) or restore the file with git")
    digest = hashlib.sha256(HTML_MANAGER_ARCHIVE.read_bytes()).hexdigest()
    if digest != HTML_MANAGER_SHA256:
        raise ValueError(f"{HTML_MANAGER_ARCHIVE} has SHA-256 {digest}, expected {HTML_MANAGER_SHA256}: "
                         "restore it with git, or update HTML_MANAGER_SHA256 when it was replaced on purpose")


def install_report_assets(folder: Path) -> AssetUrls:
    """Copy the page helpers into ``folder/_static`` (once) and return the URLs the pages use."""
    static = folder / STATIC_DIR
    _copy_tree(MATHJAX_DIR, static / "mathjax")
    fonts_config = static / "mathjax" / "config" / f"{MATHJAX_FONTS_CONFIG}.js"
    if not fonts_config.exists():
        atomic_write_text(fonts_config, MATHJAX_FONTS_JS)
    static.mkdir(parents=True, exist_ok=True)
    if not (static / REQUIRE_JS.name).exists():
        shutil.copy2(REQUIRE_JS, static / REQUIRE_JS.name)
    _unpack_html_manager(static / "html-manager")
    return AssetUrls(
        mathjax=f"{STATIC_DIR}/mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        require_js=f"{STATIC_DIR}/{REQUIRE_JS.name}",
        widget_renderer=f"{STATIC_DIR}/html-manager/embed-amd.js",
    )


def _copy_tree(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` unless it is there already (written under a temporary name first,
    so an interrupted copy is never taken for a complete one)."""
    _build_once(target, lambda partial: shutil.copytree(source, partial))


def _unpack_html_manager(target: Path) -> None:
    """Unpack the vendored widget manager into ``target`` (once), after checking the archive."""

    def unpack(partial: Path) -> None:
        check_report_assets()
        with tarfile.open(HTML_MANAGER_ARCHIVE) as archive:
            archive.extractall(partial, filter="data")

    _build_once(target, unpack)


def _build_once(target: Path, build) -> None:
    """Run ``build(partial)`` into a hidden sibling of ``target`` and rename it into place, unless
    ``target`` exists already."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    build(partial)
    partial.rename(target)


def main() -> int:
    """The set-up's check: 0 when every helper is there, else 1 with the reason on stderr."""
    try:
        check_report_assets()
    except (FileNotFoundError, ValueError) as error:
        print(f"error: the offline report helpers are incomplete: {error}", file=sys.stderr)
        return 1
    print(f"offline report helpers: MathJax, require.js and the widget manager {HTML_MANAGER_VERSION} found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
