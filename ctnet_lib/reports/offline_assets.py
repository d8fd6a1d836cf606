"""The page helpers a report's HTML needs, shipped beside the reports so that pages work offline.

nbconvert's template loads three scripts from CDNs: require.js, MathJax (formulas in markdown) and the
widget manager that draws saved ipywidgets views. Each report folder gets a copy in ``_static/`` and the
pages refer to it by a relative path:

* MathJax 2 from the ``jupyter-server-mathjax`` package,
* require.js from the ``voila`` package,
* ``@jupyter-widgets/html-manager`` from the npm registry, fetched once into the environment by the
  set-up (``python -m ctnet_lib.reports.offline_assets``, run by ``make``).

Without the widget manager in the environment the pages fall back to the CDN for it (widget views then
need network); formulas and everything else still work offline.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jupyter_server_mathjax

from ctnet_lib.io_utils import atomic_write_text

STATIC_DIR = "_static"
HTML_MANAGER_VERSION = "1.0.15"  # @jupyter-widgets/html-manager for ipywidgets 8
HTML_MANAGER_DIR = Path(sys.prefix, "share/ctnet-lab/html-manager")
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
HTML_MANAGER_FILES = ("embed-amd.js", "*.woff", "*.woff2", "*.LICENSE.txt")


@dataclass(frozen=True)
class AssetUrls:
    """URLs (relative to a report page) of its helpers; ``None``: keep nbconvert's CDN default."""

    mathjax: str
    require_js: str
    widget_renderer: str | None


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
    widget_renderer = None
    if (HTML_MANAGER_DIR / "embed-amd.js").exists():
        _copy_tree(HTML_MANAGER_DIR, static / "html-manager")
        widget_renderer = f"{STATIC_DIR}/html-manager/embed-amd.js"
    return AssetUrls(
        mathjax=f"{STATIC_DIR}/mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        require_js=f"{STATIC_DIR}/{REQUIRE_JS.name}",
        widget_renderer=widget_renderer,
    )


def _copy_tree(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` unless it is there already (written under a temporary name first,
    so an interrupted copy is never taken for a complete one)."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    partial.rename(target)


def fetch_html_manager(target: Path = HTML_MANAGER_DIR, version: str = HTML_MANAGER_VERSION) -> Path:
    """Fetch ``@jupyter-widgets/html-manager@version`` with ``npm pack`` and keep its script and fonts
    in ``target`` (nothing to do when they are there)."""
    if (target / "embed-amd.js").exists():
        return target
    if shutil.which("npm") is None:
        raise RuntimeError("npm is needed once to fetch the widget manager of the offline reports")
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(["npm", "pack", "--silent", f"@jupyter-widgets/html-manager@{version}"],
                       cwd=scratch, check=True, stdout=subprocess.DEVNULL)
        [tarball] = Path(scratch).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            archive.extractall(scratch, filter="data")
        dist = Path(scratch) / "package" / "dist"
        partial = target.with_name(f".{target.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for pattern in HTML_MANAGER_FILES:
            for file in dist.glob(pattern):
                shutil.copy2(file, partial / file.name)
        partial.rename(target)
    return target


if __name__ == "__main__":
    try:
        print(f"widget manager for offline reports: {fetch_html_manager()}")
    except (RuntimeError, subprocess.CalledProcessError) as error:  # the reports still work without it
        print(f"warning: {error}; saved widget views in reports will need network", file=sys.stderr)
