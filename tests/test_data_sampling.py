"""Frame sampling: exact indices on hand-worked examples, randomness bounds and sampler objects."""

import numpy as np
import pytest
import torch

from ctnet_lib.data.sampling import (
    DenseSampler,
    SparseSampler,
    dense_test_indices,
    dense_train_indices,
    sparse_test_indices,
    sparse_train_indices,
    sparse_twice_indices,
)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_sparse_test_indices_are_segment_centres():
    # 16 frames, 4 segments of 4 frames: centres at 2, 6, 10, 14
    np.testing.assert_array_equal(sparse_test_indices(16, 4), [[2, 6, 10, 14]])
    # 10 frames, 4 segments of 2.5 frames: floor(1.25, 3.75, 6.25, 8.75)
    np.testing.assert_array_equal(sparse_test_indices(10, 4), [[1, 3, 6, 8]])


def test_sparse_multi_clip_takes_evenly_spread_offsets_in_each_segment():
    # two clips: a quarter and three quarters into each 4-frame segment
    np.testing.assert_array_equal(sparse_test_indices(16, 4, num_clips=2), [[1, 5, 9, 13], [3, 7, 11, 15]])


def test_sparse_twice_is_centres_then_segment_starts():
    np.testing.assert_array_equal(sparse_twice_indices(16, 4), [[2, 6, 10, 14], [0, 4, 8, 12]])
    np.testing.assert_array_equal(sparse_twice_indices(10, 4), [[1, 3, 6, 8], [0, 2, 5, 7]])


def test_sparse_sampling_of_a_short_video_repeats_frames_in_order():
    # 3 frames, 8 segments: floor((k + 0.5) * 3 / 8)
    np.testing.assert_array_equal(sparse_test_indices(3, 8), [[0, 0, 0, 1, 1, 2, 2, 2]])
    # training has one frame per segment to choose from, so it is deterministic: floor(k * 3 / 8)
    np.testing.assert_array_equal(sparse_train_indices(3, 8, generator()), [0, 0, 0, 1, 1, 1, 2, 2])


def test_sparse_train_indices_stay_in_their_segment_and_reach_every_offset():
    # 10 frames, 4 segments: [0, 2), [2, 5), [5, 7), [7, 10)
    starts, ends = np.array([0, 2, 5, 7]), np.array([2, 5, 7, 10])
    g = generator(3)
    draws = np.stack([sparse_train_indices(10, 4, g) for _ in range(300)])
    assert ((draws >= starts) & (draws < ends)).all()
    for k in range(4):
        assert set(draws[:, k]) == set(range(starts[k], ends[k]))


def test_sparse_train_indices_are_reproducible_with_a_seeded_generator():
    a = sparse_train_indices(100, 8, generator(7))
    b = sparse_train_indices(100, 8, generator(7))
    c = sparse_train_indices(100, 8, generator(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dense_test_indices_centre_one_window_and_spread_several():
    # 100 frames, 8 frames 4 apart: the window spans 29 frames, 71 frames of slack
    np.testing.assert_array_equal(dense_test_indices(100, 8, 4), [35 + 4 * np.arange(8)])
    # three windows start at floor((2j + 1) * 71 / 6) = 11, 35, 59
    np.testing.assert_array_equal(dense_test_indices(100, 8, 4, num_clips=3)[:, 0], [11, 35, 59])
    np.testing.assert_array_equal(dense_test_indices(100, 8, 4, num_clips=3)[2], 59 + 4 * np.arange(8))


def test_dense_sampling_of_a_short_video_starts_at_zero_and_clamps():
    np.testing.assert_array_equal(dense_test_indices(10, 4, 4), [[0, 4, 8, 9]])
    np.testing.assert_array_equal(dense_train_indices(10, 4, 4, generator()), [0, 4, 8, 9])


def test_dense_train_indices_keep_the_stride_inside_the_video():
    g = generator(1)
    starts = set()
    for _ in range(400):
        indices = dense_train_indices(40, 8, 2, g)
        np.testing.assert_array_equal(np.diff(indices), 2)
        assert indices[0] >= 0 and indices[-1] <= 39
        starts.add(int(indices[0]))
    assert starts == set(range(40 - 15 + 1))


def test_samplers_return_clips_by_frames():
    g = generator()
    assert SparseSampler(8, train=True)(50, g).shape == (1, 8)
    assert SparseSampler(8, test_clips=3)(50, g).shape == (3, 8)
    np.testing.assert_array_equal(SparseSampler(4, twice=True)(16, g), sparse_twice_indices(16, 4))
    assert SparseSampler(4, twice=True).num_clips == 2
    assert DenseSampler(8, stride=2, train=True, test_clips=5).num_clips == 1
    np.testing.assert_array_equal(DenseSampler(8, 4, test_clips=3)(100, g), dense_test_indices(100, 8, 4, 3))


@pytest.mark.parametrize(
    "make",
    [
        lambda: sparse_test_indices(0, 8),
        lambda: sparse_train_indices(10, 0, generator()),
        lambda: dense_test_indices(10, 4, 0),
        lambda: SparseSampler(8, train=True, twice=True),
        lambda: DenseSampler(8, test_clips=0),
    ],
)
def test_invalid_sampling_arguments_raise(make):
    with pytest.raises(ValueError):
        make()
