"""Figure 3's scores on hand-made volumes (coverage, entropy, regions, tracking, distractors), the distractor
masks replayed from the generator, bootstrap intervals, paired differences and the claims in words."""

import math

import numpy as np
import pandas as pd
import pytest

from ctnet_lib.data.synthetic import SyntheticSettings, generate_synthetic_dataset, render_synthetic_video
from ctnet_lib.data.synthetic_distractors import distractor_masks, replay_masks
from ctnet_lib.explain.claims import (
    CONTRADICTED,
    HOLDS,
    bootstrap_mean,
    claim_sentences,
    paired_difference,
    paper_claim_results,
    paper_claims,
    uniform_ratio,
)
from ctnet_lib.explain.scores import mask_scores, object_coverage, region_count, spatial_entropy, tracking
from ctnet_lib.explain.seed_study import claims_by_seed, seed_table
from ctnet_lib.explain.study import MASK, SCORE_COLUMNS, UNIFORM, LocalisationStudy


def square(t=2, size=16, top=4, left=4, side=4):
    mask = np.zeros((t, size, size), dtype=bool)
    mask[:, top : top + side, left : left + side] = True
    return mask


def test_coverage_counts_the_object_pixels_above_the_threshold():
    mask = square()
    assert object_coverage(mask.astype(float), mask) == 1.0
    half = mask.astype(float)
    half[:, :, 4:6] = 0.4  # the left half of the object below 0.5
    assert object_coverage(half, mask) == 0.5
    assert object_coverage(np.ones(mask.shape), mask) == 1.0
    assert math.isnan(object_coverage(np.ones(mask.shape), np.zeros_like(mask)))


def test_entropy_is_one_for_a_uniform_frame_and_zero_for_one_pixel():
    assert spatial_entropy(np.ones((2, 8, 8))) == pytest.approx(1.0)
    peak = np.zeros((2, 8, 8))
    peak[:, 3, 3] = 1
    assert spatial_entropy(peak) == pytest.approx(0.0)
    two = np.zeros((1, 8, 8))
    two[0, 0, 0] = two[0, 7, 7] = 1
    assert spatial_entropy(two) == pytest.approx(math.log(2) / math.log(64))


def test_regions_are_8_connected_and_counted_per_frame():
    volume = np.zeros((2, 8, 8))
    volume[0, 0:2, 0:2] = 1  # frame 0: two blobs
    volume[0, 5:7, 5:7] = 0.9
    volume[1, 2, 2] = volume[1, 3, 3] = volume[1, 4, 4] = 1  # frame 1: one diagonal line
    assert region_count(volume) == 1.5
    assert region_count(np.ones((1, 8, 8))) == 1.0
    assert region_count(np.zeros((1, 8, 8))) == 0.0


def test_tracking_counts_frames_that_beat_a_uniform_map_on_the_object():
    mask = square(t=4)
    volume = np.ones(mask.shape)
    volume[:2][mask[:2]] = 5  # frames 0 and 1 favour the object, 2 and 3 are uniform
    assert tracking(volume, mask) == 0.5
    assert tracking(mask.astype(float), mask) == 1.0
    assert tracking(np.ones(mask.shape), mask) == 0.0


def test_mask_scores_measure_the_distractors_when_given():
    mask, distractors = square(), square(top=10, left=10, side=2)
    scores = mask_scores(distractors.astype(float), mask, distractors)
    assert scores["distractor_energy"] == 1.0 and scores["energy"] == 0.0
    assert math.isnan(mask_scores(mask.astype(float), mask)["distractor_energy"])
    assert set(scores) <= set(SCORE_COLUMNS)


def test_replayed_masks_match_the_generator_and_its_files(tmp_path):
    settings = SyntheticSettings(num_frames=4, size=32, num_classes=4)
    for label in range(4):
        obj, distractors = replay_masks(settings, "val", label, 1)
        _, generated = render_synthetic_video(settings, "val", label, 1)
        assert np.array_equal(obj, generated) and not (obj & distractors).any()
    files = generate_synthetic_dataset(tmp_path, 1, 1, 4, 32, num_classes=4)
    video = files.root / "videos" / "val" / "moving_right" / "0000.mp4"
    expected = replay_masks(settings, "val", 1, 0)[1]
    assert np.array_equal(distractor_masks(video), expected) and expected.any()
    assert distractor_masks(tmp_path / "elsewhere.mp4") is None


def test_bootstrap_interval_and_paired_difference():
    constant = bootstrap_mean([2.0] * 10)
    assert (constant.mean, constant.low, constant.high, constant.n) == (2.0, 2.0, 2.0, 10)
    spread = bootstrap_mean(np.arange(100.0))
    assert spread.low < 49.5 < spread.high and spread.sign == 1
    assert bootstrap_mean([np.nan]).n == 0


def hand_made_study(n=20, seed=0):
    """ctnet on the object and tracking it, r2plus1d covering a part of it, csn scattered; uniform and
    mask baselines as the study scores them."""
    rng = np.random.default_rng(seed)
    means = {
        "ctnet": {"energy": 0.3, "tracking": 0.9, "coverage": 0.6, "regions": 1.0, "entropy": 0.7},
        "r2plus1d": {"energy": 0.15, "tracking": 0.6, "coverage": 0.2, "regions": 1.2, "entropy": 0.75},
        "csn": {"energy": 0.1, "tracking": 0.5, "coverage": 0.5, "regions": 3.0, "entropy": 0.9},
        UNIFORM: {"energy": 0.05, "tracking": 0.0, "coverage": 1.0, "regions": 1.0, "entropy": 1.0},
        MASK: {"energy": 1.0, "tracking": 1.0, "coverage": 1.0, "regions": 1.0, "entropy": 0.4},
    }
    rows = []
    for model in ("ctnet", "r2plus1d", "csn"):
        for row in (model, UNIFORM, MASK):
            for video in range(n):
                noise = 0 if row in (UNIFORM, MASK) else rng.normal(0, 0.02)
                rows.append({"row": row, "model": model, "video": video, "label": 0, "class_name": "a",
                             "correct": True, **{c: v + noise for c, v in means[row].items()}})
    per_video = pd.DataFrame(rows).reindex(columns=["row", "model", "video", "label", "class_name", "correct",
                                                    *SCORE_COLUMNS])
    return LocalisationStudy(per_video, pd.DataFrame(), "cam", "label")


def test_the_claims_hold_on_a_study_made_to_show_them():
    study = hand_made_study()
    lines = claim_sentences(study, "ctnet", "r2plus1d", "csn")
    assert lines[0].startswith("Claim 1 (CT-Net localises the object better, in space and in time) holds")
    assert lines[1].startswith("Claim 2 (R(2+1)D covers only one part of the object) holds")
    assert lines[2].startswith("Claim 3 (CSN's regions of interest are scattered) holds")
    assert "distractors" not in lines[2]  # not measured in this study
    assert paired_difference(study, "coverage", "r2plus1d", "ctnet").high < 0
    assert uniform_ratio(study, "ctnet").mean == pytest.approx(6.0, rel=0.05)


def test_paper_claims_find_the_models_by_family_or_name_the_missing_ones():
    study = hand_made_study()
    names = {"ctnet": "ctnet_small", "r2plus1d": "r2plus1d_small", "csn": "csn_r50"}
    lines = paper_claims(LocalisationStudy(study.per_video.replace(names), study.profiles, "cam", "label"))
    assert "ctnet_small - r2plus1d_small" in lines[0]
    assert "csn_r50" in lines[2]
    assert "lacks ctnet, r2plus1d, csn" in paper_claims(study)[0]


def test_a_claim_the_data_contradict_is_said_so():
    study = hand_made_study()
    swapped = study.per_video.copy()
    swapped.loc[swapped["row"] == "csn", "regions"] = 0.5
    lines = claim_sentences(LocalisationStudy(swapped, study.profiles, "cam", "label"), "ctnet", "r2plus1d",
                            "csn")
    assert "Claim 3 (CSN's regions of interest are scattered) does not hold" in lines[2]


def test_a_claim_is_robust_only_when_every_seed_gives_it_the_same_verdict():
    names = {"ctnet": "ctnet_small", "r2plus1d": "r2plus1d_small", "csn": "csn_small"}
    study = hand_made_study()
    seed0 = LocalisationStudy(study.per_video.replace(names), study.profiles, "cam", "label")
    contradicted = seed0.per_video.copy()
    contradicted.loc[contradicted["row"] == "csn_small", "regions"] = 0.5
    studies = {0: seed0, 1: LocalisationStudy(contradicted, study.profiles, "cam", "label")}
    verdicts = claims_by_seed(studies)
    assert list(verdicts.columns) == [0, 1, "robust"]
    assert verdicts.iloc[:, 0].tolist() == [HOLDS, HOLDS, HOLDS]
    assert verdicts.iloc[:, 1].tolist() == [HOLDS, HOLDS, CONTRADICTED]
    assert verdicts["robust"].tolist() == [True, True, False]
    table = seed_table(studies)
    assert list(table.index) == [(m, s) for m in sorted(names.values()) for s in (0, 1)]
    assert table.loc[("ctnet_small", 0), "energy_x_uniform"] == pytest.approx(6.0, rel=0.05)
    assert (table["top1"] == 100).all() and "deletion_auc" not in table.columns
    assert table.loc[("csn_small", 1), "regions"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="lacks ctnet, r2plus1d, csn"):
        paper_claim_results(study)
