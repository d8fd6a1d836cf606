"""The lr schedule (warm-up then cosine, per iteration), parameter groups and the config's lr rule."""

import math

import pytest
import torch
from torch import nn

from ctnet_lib.models import build_model
from ctnet_lib.train import (
    TrainConfig,
    WarmupCosineSchedule,
    build_optimizer,
    make_config,
    parameter_groups,
    warmup_cosine_factor,
)


def test_warmup_is_linear_from_the_start_factor_to_one():
    assert warmup_cosine_factor(0, 10, 100, warmup_start_factor=0.1) == pytest.approx(0.1)
    assert warmup_cosine_factor(5, 10, 100, warmup_start_factor=0.1) == pytest.approx(0.55)
    assert warmup_cosine_factor(10, 10, 100, warmup_start_factor=0.1) == pytest.approx(1.0)


def test_cosine_halves_at_midpoint_and_ends_at_min_factor():
    assert warmup_cosine_factor(55, 10, 100) == pytest.approx(0.5)
    assert warmup_cosine_factor(100, 10, 100, min_factor=0.05) == pytest.approx(0.05)
    assert warmup_cosine_factor(150, 10, 100) == pytest.approx(0.0)
    quarter = 10 + 90 / 4
    assert warmup_cosine_factor(int(quarter), 10, 100) < 1
    assert warmup_cosine_factor(32, 10, 100) == pytest.approx(0.5 * (1 + math.cos(math.pi * 22 / 90)))


def test_schedule_rejects_warmup_longer_than_training():
    with pytest.raises(ValueError, match="warmup_iters"):
        warmup_cosine_factor(0, 20, 10)


def test_schedule_sets_every_group_and_restores_from_state():
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(
        [{"params": [model.weight], "lr": 0.1}, {"params": [model.bias], "lr": 0.5}], lr=0.1
    )
    schedule = WarmupCosineSchedule(optimizer, warmup_iters=4, total_iters=20, warmup_start_factor=0.0)
    assert schedule.last_lr() == [0.0, 0.0]
    for _ in range(2):
        schedule.step()
    assert schedule.last_lr() == pytest.approx([0.05, 0.25])
    other = WarmupCosineSchedule(optimizer, 4, 20, warmup_start_factor=0.0)
    other.load_state_dict(schedule.state_dict())
    assert other.iteration == 2
    assert other.last_lr() == pytest.approx([0.05, 0.25])


def test_parameter_groups_exclude_bn_and_biases_from_decay_and_speed_up_fc():
    model = build_model("ctnet_small", num_classes=5, num_frames=4)
    groups = {g["name"]: g for g in parameter_groups(model, lr=0.01, weight_decay=5e-4, fc_lr_multiplier=5)}
    assert set(groups) == {"backbone", "backbone_no_decay", "fc", "fc_no_decay"}
    assert groups["fc"]["lr"] == pytest.approx(0.05) and groups["fc_no_decay"]["lr"] == pytest.approx(0.05)
    assert groups["backbone"]["lr"] == pytest.approx(0.01)
    assert groups["backbone_no_decay"]["weight_decay"] == 0 and groups["fc_no_decay"]["weight_decay"] == 0
    assert groups["backbone"]["weight_decay"] == 5e-4
    ids = lambda name: {id(p) for p in groups[name]["params"]}
    bn_params = {id(p) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
                 for p in m.parameters()}
    assert bn_params <= ids("backbone_no_decay")
    assert ids("fc") == {id(model.fc.weight)} and ids("fc_no_decay") == {id(model.fc.bias)}
    assert all(p.ndim > 1 for p in groups["backbone"]["params"])
    assert sum(len(g["params"]) for g in groups.values()) == len(list(model.parameters()))


def test_build_optimizer_is_sgd_with_momentum():
    optimizer = build_optimizer(nn.Linear(3, 2), lr=0.1, momentum=0.9, weight_decay=1e-4, fc_lr_multiplier=5)
    assert isinstance(optimizer, torch.optim.SGD)
    assert all(g["momentum"] == 0.9 for g in optimizer.param_groups)


def test_recipes_match_the_paper_and_lr_scales_with_batch():
    something = make_config("something")
    assert (something.batch_size, something.epochs, something.lr, something.dropout) == (64, 45, 0.02, 0.3)
    assert (something.weight_decay, something.warmup_epochs, something.clip_grad_norm) == (5e-4, 10, 20)
    assert something.fc_lr_multiplier == 5 and something.momentum == 0.9
    kinetics = make_config("kinetics")
    assert (kinetics.batch_size, kinetics.epochs, kinetics.lr, kinetics.dropout, kinetics.weight_decay) == (
        64, 110, 0.01, 0.5, 1e-4)
    assert something.replace(batch_size=16).scaled_lr == pytest.approx(0.005)
    assert something.replace(batch_size=16, base_batch_size=16).scaled_lr == pytest.approx(0.02)


def test_config_is_frozen_printable_and_rejects_bad_values():
    config = TrainConfig()
    with pytest.raises(AttributeError):
        config.lr = 1.0  # type: ignore[misc]
    assert "lr used" in str(config)
    with pytest.raises(ValueError, match="unknown TrainConfig fields"):
        make_config("something", learning_rate=0.1)
    with pytest.raises(ValueError, match="view_average"):
        make_config("something", view_average="max")
