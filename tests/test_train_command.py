"""``ctnet train`` / ``ctnet evaluate`` end to end on a tiny synthetic set, config precedence, and the
in-memory video cache."""

import argparse
import json

import pytest
import torch

from ctnet_lib.cli import main
from ctnet_lib.train import command, make_config, resolve_data, train_dataset
from ctnet_lib.train.data_setup import CachedVideoClipDataset


def parse(argv):
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_precedence_recipe_then_file_then_flags(tmp_path):
    config_file = tmp_path / "run.yaml"
    config_file.write_text("recipe: kinetics\nepochs: 7\nlr: 0.5\nmodel: tsn_small\n")
    args = parse(["train", "--config", str(config_file), "--lr", "0.1", "--set", "kernels=1,3",
                  "--no-amp", "--clip-grad-norm", "none"])
    config = command.config_from_args(args)
    assert (config.epochs, config.lr, config.model, config.dropout) == (7, 0.1, "tsn_small", 0.5)
    assert config.model_options == {"kernels": "1,3"}
    assert config.amp is False and config.clip_grad_norm is None
    lists = parse(["train", "--train-list", "a.txt", "--val-list", "b.txt"])
    assert command.config_from_args(lists).data == "lists"


def test_set_rejects_a_pair_without_equals():
    with pytest.raises(ValueError, match="key=value"):
        command.parse_set_options(["kernels"])


@pytest.mark.slow
def test_train_then_evaluate_on_a_tiny_synthetic_set(tmp_path, capsys):
    run_dir = tmp_path / "run"
    common = ["--synthetic-dir", str(tmp_path / "synthetic"), "--synthetic-classes", "2",
              "--synthetic-train-per-class", "2", "--synthetic-val-per-class", "1", "--synthetic-frames", "4",
              "--synthetic-size", "32"]
    args = parse(["train", "--model", "ctnet_small", "--frames", "4", "--crop-size", "32",
                  "--short-side", "32", "--epochs", "1", "--batch-size", "2", "--workers", "0",
                  "--device", "cpu", "--no-progress",
                  "--run-dir", str(run_dir), *common])
    assert args.func(args) == 0
    assert (run_dir / "best.pt").is_file() and (run_dir / "metrics.csv").is_file()
    capsys.readouterr()
    args = parse(["evaluate", str(run_dir), "--clips", "2", "--device", "cpu", "--json", "--output",
                  str(tmp_path / "eval")])
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["views"] == 2 and summary["videos"] == 2 and summary["epoch"] == 1
    assert (tmp_path / "eval" / "confusion.csv").is_file()


def test_cached_dataset_gives_the_same_clips(tmp_path):
    config = make_config("something", synthetic_dir=str(tmp_path), synthetic_classes=2,
                         synthetic_train_per_class=2, synthetic_val_per_class=1, synthetic_frames=6,
                         synthetic_size=16, num_frames=3, crop_size=16, short_side=16)
    source = resolve_data(config)
    plain = train_dataset(source, config)
    cached = train_dataset(source, config.replace(cache_videos=True))
    assert isinstance(cached, CachedVideoClipDataset)
    for epoch in (0, 1):
        plain.set_epoch(epoch)
        cached.set_epoch(epoch)
        for index in range(len(plain)):
            assert torch.equal(plain[index][0], cached[index][0])


def test_train_rejects_a_bad_model_option_before_it_touches_data(tmp_path, capsys):
    synthetic = tmp_path / "synthetic"
    argv = ["train", "--model", "ctnet_small", "--set", "kernels=3,3,3", "--synthetic-dir", str(synthetic),
            "--run-dir", str(tmp_path / "run")]
    assert main(argv) == 2
    assert "kernels=(3, 3, 3) gives 3 sizes for num_sub_dims=2" in capsys.readouterr().err
    assert not synthetic.exists() and not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="replace='layer9:1'"):
        make_config("something", model="ctnet_small", model_options={"replace": "layer9:1"})
