"""Shared fixtures: a tiny synthetic data set with two briefly trained models (built once per session);
the hypothesis profiles."""

import os

import pytest
from hypothesis import settings

from ctnet_lib.train import make_config, train_models

TINY_MODELS = ("tsn_small", "ctnet_small")

# CI draws the same examples on every run (derandomized, no example database), so a red CI is a bug
# that reproduces; elsewhere each run draws new examples. HYPOTHESIS_PROFILE=ci reproduces CI's draws.
settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True, database=None,
                          print_blob=True)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory):
    """``(config, run_dir)``: tsn_small and ctnet_small trained one epoch on 6 classes x 2 videos of
    8 frames at 32 px, each in ``run_dir/<model>`` (the synthetic recipe at a tiny size)."""
    root = tmp_path_factory.mktemp("tiny_runs")
    config = make_config(
        "synthetic", synthetic_train_per_class=2, synthetic_val_per_class=2, synthetic_frames=8,
        synthetic_size=32, num_frames=4, crop_size=32, short_side=32, epochs=1, batch_size=4,
        base_batch_size=4, synthetic_dir=str(root / "data"), run_dir=str(root / "runs"), progress=False,
        device="cpu",
    )
    train_models(config, TINY_MODELS)
    return config, root / "runs"
