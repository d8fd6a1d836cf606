"""Clips under the test-time settings with their masks carried along, the localisation study, and the
recipe shared by a run folder."""

import numpy as np
import pytest
import torch

from ctnet_lib.data import load_object_mask, read_list_file, sparse_test_indices
from ctnet_lib.explain.clips import held_out_views, load_clip
from ctnet_lib.explain.study import BASELINES, SCORE_COLUMNS, localisation_study, summary_sentences
from ctnet_lib.train import load_trained_model, resolve_data
from ctnet_lib.train.experiment import recorded_recipe


@pytest.mark.slow
def test_a_view_has_the_test_frames_and_the_mask_cropped_like_them(tiny_runs):
    config, _ = tiny_runs
    record = read_list_file(resolve_data(config).val_list, resolve_data(config).root)[3]
    cropped = config.replace(crop_size=24)  # short side stays 32: a centre crop of 24 from 32
    view = load_clip(record.path, cropped, record.label)
    assert list(view.indices) == list(sparse_test_indices(8, 4)[0])
    assert view.clip.shape == (3, 4, 24, 24) and view.frames.shape == (4, 24, 24, 3)
    expected = load_object_mask(record.path)[view.indices][:, 4:28, 4:28]
    assert view.mask.shape == (4, 24, 24) and np.array_equal(view.mask, expected) and view.mask.any()
    assert view.label == record.label


@pytest.mark.slow
def test_a_video_without_a_mask_gives_a_view_without_one(tiny_runs, tmp_path):
    config, _ = tiny_runs
    record = read_list_file(resolve_data(config).val_list, resolve_data(config).root)[0]
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(record.path.read_bytes())
    view = load_clip(copy, config)
    assert view.mask is None and view.label is None
    assert torch.equal(view.clip, load_clip(record.path, config).clip)
    with pytest.raises(FileNotFoundError, match=r"missing\.mp4"):
        load_clip(tmp_path / "missing.mp4", config)


@pytest.mark.slow
def test_the_study_scores_models_and_baselines(tiny_runs):
    config, run_dir = tiny_runs
    views = held_out_views(config, per_class=1)
    assert [view.label for view in views] == list(range(6))
    models = {name: load_trained_model(run_dir / name).model for name in ("tsn_small", "ctnet_small")}
    names = resolve_data(config).class_names
    study = localisation_study(models, views, names, auc_per_class=1, auc_steps=2)
    summary = study.summary()
    assert list(summary.index) == ["tsn_small", "ctnet_small", *BASELINES]
    assert summary.loc["object mask", ("energy", "mean")] == 1.0
    assert summary.loc["object mask", ("pointing", "mean")] == 1.0
    area = np.mean([view.mask.mean() for view in views])
    assert summary.loc["uniform map", ("energy", "mean")] == pytest.approx(area)
    assert summary[("top1", "%")].loc[list(BASELINES)].isna().all()
    correct = summary[("top1", "%")].loc["tsn_small"] * 6 / 100  # the share of 6 videos
    assert correct == pytest.approx(round(correct))
    per_video = study.per_video
    assert len(per_video) == 2 * 6 * len((*BASELINES, "model")) and per_video["deletion_auc"].notna().all()
    # at output stride 32 a 32 px frame is one cell: the best tube on that grid is flat over each frame,
    # weighted by the object's area in it, so it scores at least a uniform map (Chebyshev's sum inequality)
    for model in models:
        assert area - 1e-12 <= study.beside("mask at the tube's cells", model, "energy") < 1
    # deletion and insertion of a baseline run the forward passes of the model it is scored beside
    for model, line in zip(models, summary_sentences(study), strict=False):
        uniform = (study.beside("uniform map", model, "deletion_auc"),
                   study.beside("uniform map", model, "insertion_auc"))
        assert f"uniform order {uniform[0]:.3f} / {uniform[1]:.3f}" in line
    assert study.profiles.shape == (4, 3) and np.allclose(study.profiles.sum(), 1)
    assert set(study.per_class().index.get_level_values("class_name")) == set(names)
    assert set(study.ranking("energy")) == set(models)
    with pytest.raises(ValueError, match="object mask and a label"):
        localisation_study(models, [load_clip(views[0].path, config)], names)


@pytest.mark.slow
def test_a_run_folder_records_one_recipe(tiny_runs, tmp_path):
    config, run_dir = tiny_runs
    recipe = recorded_recipe(run_dir)
    unset = {"model": None, "run_dir": None}
    assert recipe.to_dict() | unset == config.to_dict() | unset
    assert recorded_recipe(tmp_path) is None
    for name, lr in (("a", 0.1), ("b", 0.2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(f"model: tsn_small\nlr: {lr}\n")
    with pytest.raises(ValueError, match="different recipes"):
        recorded_recipe(tmp_path)


@pytest.mark.slow
def test_the_summary_states_each_model_and_the_rankings(tiny_runs):
    config, run_dir = tiny_runs
    views = held_out_views(config, per_class=1)
    models = {name: load_trained_model(run_dir / name).model for name in ("tsn_small", "ctnet_small")}
    study = localisation_study(models, views, resolve_data(config).class_names, auc_per_class=0)
    lines = summary_sentences(study)
    assert [line.split(":")[0] for line in lines[:2]] == ["tsn_small", "ctnet_small"]
    energy = study.summary().loc["ctnet_small", ("energy", "mean")]
    assert f"{100 * energy:.1f} % of its saliency" in lines[1] and "deletion" not in lines[1]
    assert len(lines) == 2 + len(SCORE_COLUMNS) - 2  # rankings by every score but the AUCs (not measured)
    assert lines[2].startswith("Ranked by energy in mask (higher is better): ")
