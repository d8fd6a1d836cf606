"""The offline page helpers come from the environment and the repository, never from npm or a CDN."""

import subprocess
import sys

import pytest

from ctnet_lib.reports import offline_assets
from ctnet_lib.reports.offline_assets import check_report_assets, install_report_assets


def test_the_helpers_install_from_the_vendored_archive_without_npm(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no npm, no node, nothing
    urls = install_report_assets(tmp_path / "reports")
    static = tmp_path / "reports"
    for url in (urls.mathjax.split("?")[0], urls.require_js, urls.widget_renderer):
        assert (static / url).is_file(), url
    script = (static / urls.widget_renderer).read_text()
    assert "@jupyter-widgets/html-manager" in script and len(script) > 1_000_000
    assert len(list((static / urls.widget_renderer).parent.glob("*.woff2"))) == 3  # Font Awesome


def test_an_altered_archive_is_refused_before_anything_is_unpacked(tmp_path, monkeypatch):
    altered = tmp_path / "html-manager.tar.gz"
    data = bytearray(offline_assets.HTML_MANAGER_ARCHIVE.read_bytes())
    data[len(data) // 2] ^= 1  # one bit in the middle of the compressed script
    altered.write_bytes(bytes(data))
    monkeypatch.setattr(offline_assets, "HTML_MANAGER_ARCHIVE", altered)
    with pytest.raises(ValueError, match=r"html-manager.tar.gz has SHA-256 [0-9a-f]{64}, expected b0eaeded"):
        check_report_assets()
    with pytest.raises(ValueError):
        install_report_assets(tmp_path / "reports")
    static = tmp_path / "reports" / "_static"
    assert not (static / "html-manager").exists() and not (static / ".html-manager.partial").exists()


def test_the_set_up_step_fails_naming_a_missing_helper(tmp_path, monkeypatch, capsys):
    ok = subprocess.run([sys.executable, "-m", "ctnet_lib.reports.offline_assets"], capture_output=True,
                        text=True)
    assert ok.returncode == 0 and "widget manager 1.0.15 found" in ok.stdout
    monkeypatch.setattr(offline_assets, "REQUIRE_JS", tmp_path / "require.min.js")
    assert offline_assets.main() == 1
    assert "require.min.js is missing: it comes with the voila package" in capsys.readouterr().err
