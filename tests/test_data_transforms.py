"""Clip transforms: shapes, exact crops, one random draw per clip, flips with label swaps, normalisation."""

import pytest
import torch

from ctnet_lib.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    CenterCrop,
    MultiScaleCrop,
    Normalize,
    RandomHorizontalFlip,
    Resize,
    ThreeCrop,
    eval_transform,
    train_transform,
)


def random_clip(frames: int = 4, height: int = 48, width: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (frames, height, width, 3), generator=g, dtype=torch.uint8)


def coordinate_clip(frames: int = 3, height: int = 32, width: int = 64) -> torch.Tensor:
    """Channel 0 holds the column, channel 1 the row, channel 2 the frame number."""
    t, y, x = torch.meshgrid(torch.arange(frames), torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([x, y, t], dim=-1).to(torch.uint8)


def test_multi_scale_crop_uses_one_box_for_all_frames_and_is_seeded():
    frame = random_clip(1)
    clip = frame.expand(6, -1, -1, -1).clone()
    crop = MultiScaleCrop(32)
    out, label = crop(clip, 5, torch.Generator().manual_seed(1))
    assert out.shape == (6, 32, 32, 3) and out.dtype == torch.uint8 and label == 5
    assert all(torch.equal(out[0], out[t]) for t in range(6))
    again, _ = crop(clip, 5, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)


def test_multi_scale_crop_boxes_follow_tsn_scales_distortion_and_fixed_positions():
    crop = MultiScaleCrop(224)
    g = torch.Generator().manual_seed(0)
    sides = [int(256 * s) for s in (1, 0.875, 0.75, 0.66)]  # 256, 224, 192, 168
    seen = set()
    for _ in range(500):
        top, left, h, w = crop.crop_box(256, 340, g)
        i, j = sides.index(h), sides.index(w)
        assert abs(i - j) <= 1
        assert top % ((256 - h) // 4 or 1) == 0 and left % ((340 - w) // 4 or 1) == 0
        assert 0 <= top <= 256 - h and 0 <= left <= 340 - w
        seen.add((h, w))
    assert len(seen) == 10  # 4 + 2 * 3 pairs within one step


def test_resize_short_side_and_exact():
    clip = random_clip(2, 48, 64)
    assert Resize(32)(clip, 0)[0].shape == (2, 32, 42, 3)  # 42.7, truncated as torchvision does
    assert Resize((20, 30))(clip, 0)[0].shape == (2, 20, 30, 3)
    flat = torch.full((2, 48, 64, 3), 77, dtype=torch.uint8)
    assert (Resize(24)(flat, 0)[0] == 77).all()


def test_center_crop_takes_the_exact_centre():
    clip = coordinate_clip()
    out, _ = CenterCrop((16, 20))(clip, 0)
    assert out.shape == (3, 16, 20, 3)
    assert out[0, 0, 0, 0] == 22 and out[0, 0, 0, 1] == 8  # left (64 - 20) // 2, top (32 - 16) // 2
    with pytest.raises(ValueError, match="resize first"):
        CenterCrop(40)(clip, 0)


def test_three_crop_runs_along_the_long_side():
    wide, _ = ThreeCrop(32)(coordinate_clip(height=32, width=64), 0)
    assert wide.shape == (3, 3, 32, 32, 3)
    assert wide[:, 0, 0, 0, 0].tolist() == [0, 16, 32]  # left, centre, right columns
    tall, _ = ThreeCrop(32)(coordinate_clip(height=64, width=32), 0)
    assert tall[:, 0, 0, 0, 1].tolist() == [0, 16, 32]  # top, centre, bottom rows


def test_flip_with_label_map_swaps_the_label():
    clip = coordinate_clip()
    flip = RandomHorizontalFlip(p=1.0, label_map={0: 1, 1: 0, 2: 2})
    flipped, label = flip(clip, 0)
    assert label == 1 and torch.equal(flipped, clip.flip(2))
    assert flip(clip, 2)[1] == 2
    untouched, label = flip(clip, 3)  # not in the map: never flipped
    assert label == 3 and torch.equal(untouched, clip)
    plain, label = RandomHorizontalFlip(p=1.0)(clip, 3)
    assert label == 3 and torch.equal(plain, clip.flip(2))
    assert torch.equal(RandomHorizontalFlip(p=0.0, label_map={0: 1})(clip, 0)[0], clip)


def test_flip_happens_about_half_the_time_and_is_seeded():
    clip, g = coordinate_clip(), torch.Generator().manual_seed(0)
    labels = [RandomHorizontalFlip(label_map={0: 1})(clip, 0, g)[1] for _ in range(400)]
    assert 150 < sum(labels) < 250
    flip = RandomHorizontalFlip()
    first = [flip(clip, 0, torch.Generator().manual_seed(s))[0][0, 0, 0, 0].item() for s in range(16)]
    second = [flip(clip, 0, torch.Generator().manual_seed(s))[0][0, 0, 0, 0].item() for s in range(16)]
    assert first == second and len(set(first)) == 2


def test_normalize_gives_channels_first_float_and_inverts():
    clip = random_clip(2, 8, 10)
    normalize = Normalize()
    out, _ = normalize(clip, 0)
    assert out.shape == (3, 2, 8, 10) and out.dtype == torch.float32
    for channel in range(3):
        expected = (clip[..., channel].float() / 255 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        assert torch.allclose(out[channel], expected, atol=1e-6)
    assert torch.equal(normalize.invert(out), clip)
    with pytest.raises(ValueError, match="Normalize last"):
        CenterCrop(4)(out, 0)


def test_recipes_give_model_input_shapes():
    clip = random_clip(4, 64, 86)
    train_out, _ = train_transform(56, flip=True)(clip, 0, torch.Generator().manual_seed(0))
    assert train_out.shape == (3, 4, 56, 56)
    one, _ = eval_transform(56)(clip, 0)
    assert one.shape == (3, 4, 56, 56)
    three, _ = eval_transform(56, num_crops=3)(clip, 0)
    assert three.shape == (3, 3, 4, 56, 56)
    assert torch.equal(eval_transform(56)(clip, 0)[0], one)
