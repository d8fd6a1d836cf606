"""Localisation scores: exact values for the mask itself, uniform maps and hand-placed peaks; RISE curves
on a model whose evidence is known."""

import itertools
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from ctnet_lib.explain.scores import (
    deletion_insertion,
    energy_in_mask,
    motion_offset,
    pointing_hit_rate,
    pointing_tolerance,
    profile_distance,
    temporal_profile,
)
from ctnet_lib.explain.study import resolution_ceilings
from ctnet_lib.explain.volumes import mask_at_cells


def square_mask(t=3, size=16, top=4, left=6, side=4, empty_frames=()):
    mask = np.zeros((t, size, size), dtype=bool)
    mask[:, top : top + side, left : left + side] = True
    mask[list(empty_frames)] = False
    return mask


def test_energy_is_one_for_the_mask_and_the_area_fraction_for_a_uniform_map():
    mask = square_mask()
    assert energy_in_mask(mask.astype(float), mask) == 1.0
    assert energy_in_mask(np.ones(mask.shape), mask) == pytest.approx(mask.mean())
    assert math.isnan(energy_in_mask(np.zeros(mask.shape), mask))
    with pytest.raises(ValueError, match="non-negative"):
        energy_in_mask(-np.ones(mask.shape), mask)
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        energy_in_mask(np.ones((3, 16, 15)), mask)


def test_pointing_tolerance_is_15_pixels_at_224_and_scales_with_the_frame():
    assert pointing_tolerance(224, 224) == 15
    assert pointing_tolerance(64, 80) == 4
    assert pointing_tolerance(448, 600) == 30


def test_pointing_hits_misses_and_ties():
    mask = square_mask(empty_frames=(2,))
    assert pointing_hit_rate(mask.astype(float), mask, tolerance=0) == 1.0
    peak = np.zeros(mask.shape)
    peak[0, 4, 6] = 1  # on the object
    peak[1, 15, 0] = 1  # far away
    peak[2, 0, 0] = 1  # frame without the object: not counted
    assert pointing_hit_rate(peak, mask, tolerance=2) == 0.5
    near = np.zeros(mask.shape)
    near[:2, 4, 12] = 1  # two pixels right of the object's last column (9)
    assert pointing_hit_rate(near, mask, tolerance=3) == 1.0
    assert pointing_hit_rate(near, mask, tolerance=2) == 0.0
    # a uniform map: every pixel is a maximum, so the hit rate is the share of pixels near the object
    ys, xs = np.mgrid[0:16, 0:16]
    gap_y, gap_x = np.maximum(np.maximum(4 - ys, ys - 7), 0), np.maximum(np.maximum(6 - xs, xs - 9), 0)
    distance = np.sqrt(gap_y**2 + gap_x**2)
    assert pointing_hit_rate(np.ones(mask.shape), mask, tolerance=3) == pytest.approx((distance <= 3).mean())
    assert math.isnan(pointing_hit_rate(np.ones(mask.shape), np.zeros(mask.shape, bool), tolerance=3))


def test_temporal_profiles_sum_to_one_and_their_distance_is_zero_for_the_mask():
    mask = square_mask(empty_frames=(1,))
    profile = temporal_profile(mask)
    assert profile.sum() == pytest.approx(1) and list(profile) == [0.5, 0.0, 0.5]
    assert profile_distance(mask.astype(float), mask) == 0.0
    late = np.zeros(mask.shape)
    late[1] = 1
    assert profile_distance(late, mask) == pytest.approx(1.0)
    assert list(temporal_profile(np.zeros((4, 2, 2)))) == [0.25] * 4


class MaskedMean(nn.Module):
    """Two classes; the logit of class 0 is 5 x the mean of the clip inside ``mask`` (all channels)."""

    def __init__(self, mask):
        super().__init__()
        self.register_buffer("mask", torch.as_tensor(mask, dtype=torch.float32))

    def forward(self, x):
        evidence = (x * self.mask).sum(dim=(1, 2, 3, 4)) / (3 * self.mask.sum())
        return torch.stack([5 * evidence, torch.zeros_like(evidence)], dim=1)


def test_deletion_and_insertion_reward_the_order_that_follows_the_evidence():
    mask = square_mask()
    model = MaskedMean(mask)
    clip = torch.from_numpy(mask).float().expand(3, *mask.shape)  # the object bright on a mean background
    good, bad = deletion_insertion(model, clip, [mask.astype(float), 1.0 - mask], target=0, steps=8)
    assert good.deletion.shape == good.insertion.shape == (9,)
    clean = torch.softmax(model(clip[None]), dim=-1)[0, 0].item()
    assert good.deletion[0] == pytest.approx(clean) and good.insertion[-1] == pytest.approx(clean)
    assert good.deletion[-1] == pytest.approx(0.5)  # everything at the mean colour: logits equal
    assert good.deletion[1] == pytest.approx(0.5)  # the first eighth of the voxels holds all the evidence
    assert good.insertion[1] == pytest.approx(clean)  # the unblurred object is back at the first step
    assert bad.insertion[1] < good.insertion[1]
    assert good.deletion_auc < bad.deletion_auc and good.insertion_auc > bad.insertion_auc
    with pytest.raises(ValueError, match="must match"):
        deletion_insertion(model, clip, [np.ones((3, 8, 8))], target=0)


def test_the_mask_at_a_tubes_cells_is_the_mask_at_full_resolution_and_flat_at_one_cell():
    mask = torch.from_numpy(square_mask(t=4, size=16))
    assert torch.equal(mask_at_cells(mask, (4, 16, 16)), mask.double())
    assert torch.equal(mask_at_cells(mask, (1, 1, 1)), torch.ones(mask.shape, dtype=torch.float64))


def test_the_resolution_ceiling_rises_from_a_uniform_map_towards_the_mask_as_cells_shrink():
    """A 4 px square in a 16 px frame: one cell scores the area fraction, finer grids score more, and only
    cells no larger than a pixel reach the mask's 1."""
    mask = torch.from_numpy(square_mask(t=2, size=16, top=4, left=4, side=4))
    energies = [energy_in_mask(mask_at_cells(mask, (2, cells, cells)), mask) for cells in (1, 2, 4, 8, 16)]
    assert energies[0] == pytest.approx(mask.double().mean().item())
    assert all(a < b for a, b in itertools.pairwise(energies)) and energies[-1] == 1.0


def test_the_output_stride_sets_how_far_above_a_uniform_map_a_tube_can_get():
    views = [SimpleNamespace(mask=square_mask(t=2, size=64, top=8, left=8, side=16))]
    table = resolution_ceilings(views)
    assert list(table.index) == [32, 16, 8]
    assert list(table["cells per frame"]) == ["2 x 2", "4 x 4", "8 x 8"]
    ratios = table["x uniform map"].tolist()
    assert 1 < ratios[0] < ratios[1] < ratios[2] < 1 / (16 * 16 / 64**2)
    assert table["best energy in mask"].tolist() == pytest.approx([r * 16 * 16 / 64**2 for r in ratios])


def test_the_motion_offset_is_signed_along_the_motion_and_nan_without_motion():
    """A square moving right 2 px per frame; a map one frame behind it trails by 2 px, one frame ahead
    leads by 2 px, the square itself is on it; a square that does not move has no motion to measure."""
    def moving(shift: int) -> np.ndarray:
        mask = np.zeros((5, 16, 24), dtype=bool)
        for t in range(5):
            left = 4 + 2 * (t + shift)
            mask[t, 6:10, left : left + 4] = True
        return mask

    mask = moving(0)
    assert motion_offset(mask.astype(float), mask) == 0.0
    assert motion_offset(moving(-1).astype(float), mask) == pytest.approx(-2.0)
    assert motion_offset(moving(1).astype(float), mask) == pytest.approx(2.0)
    assert math.isnan(motion_offset(square_mask().astype(float), square_mask()))
