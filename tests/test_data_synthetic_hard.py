"""The hard synthetic level: 12 classes, determinism, object and distractor masks, order pairs, files."""

import numpy as np
import pytest

from ctnet_lib.data import load_object_mask, read_class_list, read_list_file
from ctnet_lib.data.synthetic_hard import (
    HARD_CLASS_PAIRS,
    HardSyntheticSettings,
    generate_hard_synthetic_dataset,
    hard_class_list,
    load_distractor_mask,
    render_hard_video,
)

SETTINGS = HardSyntheticSettings(num_frames=8, size=32)
LABELS = range(len(hard_class_list()))


def test_at_least_twelve_distinct_classes_in_pairs():
    names = hard_class_list().names
    assert len(names) == 2 * len(HARD_CLASS_PAIRS) >= 12
    assert len(set(names)) == len(names)
    assert hard_class_list().flip_label_map() == {label: label for label in LABELS}


@pytest.mark.parametrize("label", LABELS)
def test_rendering_is_deterministic_and_seed_dependent(label):
    first = render_hard_video(SETTINGS, "train", label, 3)
    again = render_hard_video(SETTINGS, "train", label, 3)
    other_seed = render_hard_video(HardSyntheticSettings(num_frames=8, size=32, seed=1), "train", label, 3)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other_seed[0])
    assert not np.array_equal(first[0], render_hard_video(SETTINGS, "val", label, 3)[0])


@pytest.mark.parametrize("label", LABELS)
def test_every_frame_masks_the_objects_and_distractors_separately(label):
    frames, objects, distractors = render_hard_video(SETTINGS, "train", label, 0)
    assert frames.shape == (8, 32, 32, 3) and frames.dtype == np.uint8
    assert objects.shape == distractors.shape == (8, 32, 32) and objects.dtype == bool
    assert objects.any(axis=(1, 2)).all()
    assert distractors.any()
    assert not np.array_equal(objects, distractors)


def test_no_distractors_gives_an_empty_distractor_mask():
    _, _, distractors = render_hard_video(HardSyntheticSettings(8, 32, max_distractors=0), "train", 0, 0)
    assert not distractors.any()


@pytest.mark.parametrize("pair", range(len(HARD_CLASS_PAIRS)))
def test_order_pairs_hold_the_same_frames_in_reverse(pair):
    first, *first_masks = render_hard_video(SETTINGS, "train", 2 * pair, 5)
    second, *second_masks = render_hard_video(SETTINGS, "train", 2 * pair + 1, 5)
    half = SETTINGS.num_frames // 2
    if HARD_CLASS_PAIRS[pair].reversed_pair:
        assert np.array_equal(second, first[::-1])
        assert all(np.array_equal(b, a[::-1]) for a, b in zip(first_masks, second_masks, strict=True))
    else:  # crossing / turning back: the same objects and first half, then apart
        assert np.array_equal(first[:half], second[:half])
        assert not np.array_equal(first[half + 1:], second[half + 1:])


def test_turning_back_returns_to_where_it_started_and_crossing_does_not():
    label = hard_class_list().names.index("turning back")
    _, objects, _ = render_hard_video(HardSyntheticSettings(8, 32, max_distractors=0), "train", label, 0)
    assert np.array_equal(objects[0], objects[-1])
    _, crossing, _ = render_hard_video(HardSyntheticSettings(8, 32, max_distractors=0), "train", label - 1, 0)
    assert not np.array_equal(crossing[0], crossing[-1])


def test_generated_files_lists_masks_and_resume(tmp_path):
    files = generate_hard_synthetic_dataset(tmp_path, 1, 1, SETTINGS)
    assert files.num_written == 24 and files.num_skipped == 0
    assert read_class_list(files.class_file) == hard_class_list()
    records = read_list_file(files.train_list, files.root)
    assert [r.label for r in records] == list(LABELS)
    _, objects, distractors = render_hard_video(SETTINGS, "train", 4, 0)
    assert np.array_equal(load_object_mask(records[4].path), objects)
    assert np.array_equal(load_distractor_mask(records[4].path), distractors)
    again = generate_hard_synthetic_dataset(tmp_path, 1, 1, SETTINGS)
    assert again.num_written == 0 and again.num_skipped == 24
    with pytest.raises(ValueError, match="other settings"):
        generate_hard_synthetic_dataset(tmp_path, 1, 1, HardSyntheticSettings(num_frames=8, size=48))


@pytest.mark.parametrize("bad", [{"num_frames": 7}, {"size": 15}, {"qp": 60}])
def test_bad_settings_name_the_setting(bad):
    with pytest.raises(ValueError, match=next(iter(bad)) if "qp" not in bad else "qp"):
        HardSyntheticSettings(**bad)
