"""The committed model zoo: its files load through the one checkpoint loader, its manifest records what a
user needs, and ``ctnet zoo verify`` reproduces a recorded accuracy (and fails, exit 1, when it is not)."""

import json
import shutil

import pytest
import torch

from ctnet_lib.cli import main
from ctnet_lib.explain.clips import held_out_views
from ctnet_lib.train import load_trained_model, make_config
from ctnet_lib.train.checkpoint_sources import ZOO_DIR
from ctnet_lib.train.zoo import VERIFY_TOLERANCE_CLIPS, ZOO_MODELS, ZooCheck, read_manifest

CHECKED = "ctnet_small"  # one model of Figure 3


def test_every_zoo_model_is_stored_small_with_its_record():
    manifest = read_manifest()
    assert set(manifest) == set(ZOO_MODELS)
    for name, record in manifest.items():
        assert (ZOO_DIR / f"{name}.pt").stat().st_size < 5_000_000
        assert record["recipe"] == "zoo" and record["preset"] == name and record["config"]["model"] == name
        assert record["config"]["model_options"] == {"output_stride": 8}
        assert len(record["commit"]) >= 40
        assert len(record["class_names"]) == record["config"]["synthetic_classes"]
        assert 0 <= record["held_out_top1"] <= 100 and record["held_out_clips"] > 0


def test_a_zoo_model_loads_through_the_one_loader_in_float32():
    trained = load_trained_model("zoo:ctnet_small")
    assert trained.source == "zoo" and trained.config.model == "ctnet_small"
    assert trained.model.output_stride == 8
    assert all(p.dtype == torch.float32 for p in trained.model.parameters())
    assert trained.class_names == tuple(read_manifest()["ctnet_small"]["class_names"])
    with pytest.raises(FileNotFoundError, match="holds no ctnet_r50; it holds"):
        load_trained_model("zoo:ctnet_r50")


def test_the_tolerance_is_counted_in_clips():
    assert ZooCheck("m", 50.0, 50.0 + VERIFY_TOLERANCE_CLIPS * 100 / 96, 96).passed
    assert not ZooCheck("m", 50.0, 50.0 + (VERIFY_TOLERANCE_CLIPS + 1) * 100 / 96, 96).passed


def test_verify_reproduces_the_recorded_accuracy_and_fails_on_a_wrong_record(tmp_path, monkeypatch, capsys):
    """One evaluation: a copy of the zoo whose manifest records 10 points too many must fail (exit 1), and
    the measured top-1 printed must be exactly the committed record."""
    monkeypatch.setenv("CTNET_CACHE_DIR", str(tmp_path / "cache"))
    recorded = read_manifest()[CHECKED]
    shutil.copy(ZOO_DIR / f"{CHECKED}.pt", tmp_path / f"{CHECKED}.pt")
    wrong = {CHECKED: {**recorded, "held_out_top1": recorded["held_out_top1"] + 10}}
    (tmp_path / "manifest.json").write_text(json.dumps(wrong))
    assert main(["zoo", "verify", "--zoo-dir", str(tmp_path), "--models", CHECKED]) == 1
    out = capsys.readouterr().out
    assert f"measured {recorded['held_out_top1']:.2f} %" in out and "FAILED" in out


def test_explaining_a_few_held_out_clips_writes_only_those_videos(tmp_path):
    """The demo and the reports explain the zoo on held-out clips: with ``per_class`` only the first
    ``per_class`` held-out videos of each class (and one training video) are written, the same videos as
    in the full set."""
    config = make_config("zoo", synthetic_dir=str(tmp_path / "few"), synthetic_classes=2)
    views = held_out_views(config, per_class=2)
    assert [view.label for view in views] == [0, 0, 1, 1]
    assert len(list((tmp_path / "few" / "videos" / "val").rglob("*.mp4"))) == 4
    assert len(list((tmp_path / "few" / "videos" / "train").rglob("*.mp4"))) == 2
    full = held_out_views(config.replace(synthetic_dir=str(tmp_path / "full"), synthetic_val_per_class=3))
    assert all(torch.equal(full[i].clip, views[j].clip) for i, j in ((0, 0), (1, 1), (3, 2), (4, 3)))
