"""Training and evaluation: the paper's recipe (A.1), AMP on CUDA, DDP via torchrun, checkpoints with
exact resume, metrics logs, and multi-clip x multi-crop testing."""

from ctnet_lib.train.checkpoint import load_checkpoint, save_checkpoint
from ctnet_lib.train.config import (
    RECIPES,
    TrainConfig,
    load_config_file,
    make_config,
    notebook_config,
    parameter_changes,
)
from ctnet_lib.train.data_setup import DataSource, eval_dataset, resolve_data, train_dataset
from ctnet_lib.train.engine import TrainResult, fit, seed_everything
from ctnet_lib.train.evaluation import EvaluationResult, evaluate, fuse_views
from ctnet_lib.train.experiment import (
    TrainedModel,
    build_training_model,
    compare_runs,
    evaluate_run,
    final_test,
    load_trained_model,
    train,
    train_models,
)
from ctnet_lib.train.metrics import MetricsLog, confusion_matrix, topk_accuracy
from ctnet_lib.train.optim import build_optimizer, parameter_groups
from ctnet_lib.train.schedule import WarmupCosineSchedule, warmup_cosine_factor

__all__ = [
    "RECIPES",
    "DataSource",
    "EvaluationResult",
    "MetricsLog",
    "TrainConfig",
    "TrainResult",
    "TrainedModel",
    "WarmupCosineSchedule",
    "build_optimizer",
    "build_training_model",
    "compare_runs",
    "confusion_matrix",
    "eval_dataset",
    "evaluate",
    "evaluate_run",
    "final_test",
    "fit",
    "fuse_views",
    "load_checkpoint",
    "load_config_file",
    "load_trained_model",
    "make_config",
    "notebook_config",
    "parameter_changes",
    "parameter_groups",
    "resolve_data",
    "save_checkpoint",
    "seed_everything",
    "topk_accuracy",
    "train",
    "train_dataset",
    "train_models",
    "warmup_cosine_factor",
]
