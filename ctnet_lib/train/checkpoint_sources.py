"""Where a checkpoint comes from, recognised by what the file holds (never by its name), one row each.

Every row turns its file into a ctnet-lab checkpoint (``config``, ``num_classes``, ``class_names``, ``model``
weights, ``epoch``) and records the test-time input its models were made for, so every entry point that
takes a checkpoint (``load_trained_model``, ``ctnet evaluate``, ``ctnet explain``, ``ctnet convert``, the
notebooks) reads all of them the same way.

| source    | recognised by                           | test-time input                                   |
| --------- | --------------------------------------- | ------------------------------------------------- |
| zoo       | 'model', 'config' and 'zoo' (float16)   | the run's own config                              |
| ctnet-lab | 'model' and 'config' (``ctnet train``)  | the run's own config                              |
| release   | the authors' keys (``base_model.``...)  | 8 segment centres, short side 256, crop 256 (RGB) |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctnet_lib.checkpoint_io import read_checkpoint
from ctnet_lib.data.decoding import AUTO_FRAME_TEMPLATE
from ctnet_lib.models.release import ACCEPTED as RELEASE_ACCEPTED
from ctnet_lib.models.release import is_release_checkpoint, rename_release_weights
from ctnet_lib.train.config import make_config

__all__ = ["CHECKPOINT_SOURCES", "ZOO_DIR", "ZOO_PREFIX", "CheckpointSource", "read_any_checkpoint",
           "resolve_zoo_path"]

ZOO_DIR = Path(__file__).resolve().parents[2] / "zoo"  # the committed model zoo (``train.zoo``)
ZOO_PREFIX = "zoo:"  # a checkpoint named 'zoo:<preset>' is <ZOO_DIR>/<preset>.pt


def resolve_zoo_path(path: str | Path) -> Path:
    """``'zoo:<preset>'`` -> the zoo file of that model; any other path unchanged. Raises
    FileNotFoundError naming the models the zoo holds."""
    text = str(path)
    if not text.startswith(ZOO_PREFIX):
        return Path(path)
    name = text[len(ZOO_PREFIX):]
    file = ZOO_DIR / f"{name}.pt"
    if not file.is_file():
        held = sorted(p.stem for p in ZOO_DIR.glob("*.pt"))
        raise FileNotFoundError(f"{text}: the zoo ({ZOO_DIR}) holds no {name}; it holds "
                                f"{', '.join(held) or 'nothing'} (ctnet zoo build writes them)")
    return file


@dataclass(frozen=True)
class CheckpointSource:
    """One kind of checkpoint file: ``recognise(obj)`` on the object the file holds, ``to_ctnet(obj,
    source)`` -> a ctnet-lab checkpoint dict, and the ``test_input`` (TrainConfig fields) of its models."""

    name: str
    accepts: str
    recognise: Callable[[Any], bool]
    to_ctnet: Callable[[Any, str], dict[str, Any]]
    test_input: Mapping[str, Any]


def _is_ctnet(state: Any) -> bool:
    return isinstance(state, Mapping) and "model" in state and "config" in state


def _is_zoo(state: Any) -> bool:
    return _is_ctnet(state) and "zoo" in state


def _zoo(state: Any, source: str) -> dict[str, Any]:
    """A zoo entry: a ctnet-lab checkpoint whose float weights are stored in float16, back in float32."""
    weights = {key: value.float() if value.is_floating_point() else value
               for key, value in state["model"].items()}
    return {**_ctnet(state, source), "model": weights}


def _ctnet(state: Any, source: str) -> dict[str, Any]:
    if "num_classes" not in state:
        raise ValueError(f"{source} is a ctnet-lab checkpoint without 'num_classes': it is damaged; pass the "
                         "best.pt or last.pt of a complete run")
    return dict(state)


# The release's test_acc.py with --full-res --test-crops 1 and its demo notebook: 8 segment centres,
# short side 256 then the centre 256 x 256, ImageNet mean and std on RGB frames in [0, 1] (ctnet-lab's
# Normalize); frame folders as the release names them (00001.jpg...), found from each folder's files.
RELEASE_TEST_INPUT: dict[str, Any] = {
    "num_frames": 8, "sampling": "sparse", "short_side": 256, "crop_size": 256,
    "frame_template": AUTO_FRAME_TEMPLATE, "first_frame_index": 1,
}


def _release(state: Any, source: str) -> dict[str, Any]:
    found = rename_release_weights(state, source)
    config = make_config("something", model=found.preset, model_options=dict(found.options), data="none",
                         **RELEASE_TEST_INPUT)
    return {"model": found.state, "config": config.to_dict(), "num_classes": found.num_classes,
            "class_names": [], "epoch": found.epoch, "release": dict(found.extra)}


CHECKPOINT_SOURCES: dict[str, CheckpointSource] = {
    source.name: source
    for source in (
        CheckpointSource("zoo", "a model of the zoo ('zoo:<preset>', or a file of zoo/)", _is_zoo, _zoo, {}),
        CheckpointSource("ctnet-lab", "a checkpoint of ctnet train (a run folder's best.pt or last.pt)",
                         _is_ctnet, _ctnet, {}),
        CheckpointSource("release", RELEASE_ACCEPTED, is_release_checkpoint, _release, RELEASE_TEST_INPUT),
    )
}
ACCEPTED = "; or ".join(source.accepts for source in CHECKPOINT_SOURCES.values())


def _describe(state: Any) -> str:
    if isinstance(state, Mapping):
        keys = [str(key) for key in list(state)[:3]]
        return f"a dict with keys {keys}{' ...' if len(state) > 3 else ''}"
    return f"a {type(state).__name__}"


def read_any_checkpoint(path: str | Path) -> tuple[dict[str, Any], CheckpointSource]:
    """The ctnet-lab checkpoint dict of the file ``path`` (any row of :data:`CHECKPOINT_SOURCES`) and its
    source. Raises FileNotFoundError, or ValueError on one line naming the file, what it holds and what
    is accepted (a truncated file, a TSM checkpoint, another backbone...)."""
    try:
        state = read_checkpoint(path, "checkpoint")
    except FileNotFoundError:
        raise
    except ValueError as error:
        raise ValueError(f"{error}; accepted: {ACCEPTED}") from None
    except OSError as error:  # a truncated zip archive
        raise ValueError(f"checkpoint {path} is not a readable torch checkpoint ({error}): it is truncated "
                         f"or damaged, download or copy it again; accepted: {ACCEPTED}") from None
    for source in CHECKPOINT_SOURCES.values():
        if source.recognise(state):
            return source.to_ctnet(state, str(path)), source
    raise ValueError(f"{path} holds {_describe(state)}, not a checkpoint ctnet-lab reads; accepted: "
                     f"{ACCEPTED}")
