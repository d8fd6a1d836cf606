"""A trained model (the authors' released CT-Net or a ctnet-lab run) on any videos: the saliency tube of
its prediction and its top-k classes, for notebook 05's section on a released model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ctnet_lib.explain.clips import ClipView, load_clip
from ctnet_lib.explain.methods import Tube, explain_tube
from ctnet_lib.models.release import RELEASE_DOWNLOAD, RELEASE_WEIGHTS
from ctnet_lib.train.experiment import TrainedModel

__all__ = ["VideoExplanation", "explain_videos", "no_checkpoint_message"]


@dataclass(frozen=True)
class VideoExplanation:
    """One video: its test view, the tube of the predicted class and the ``top`` classes with their
    softmax scores, best first."""

    view: ClipView
    tube: Tube
    top: tuple[tuple[str, float], ...]

    @property
    def title(self) -> str:
        name, score = self.top[0]
        return f"{self.view.path.name}: predicted {name} ({score:.2f})"

    def top_table(self) -> pd.DataFrame:
        """The top classes as a table (rank, class, score)."""
        return pd.DataFrame([{"rank": i + 1, "class": name, "score": round(score, 4)}
                             for i, (name, score) in enumerate(self.top)]).set_index("rank")


def explain_videos(
    trained: TrainedModel, videos: Sequence[str | Path], method: str = "cam", normalise: str = "clip",
    top: int = 5,
) -> list[VideoExplanation]:
    """The tube of the predicted class and the ``top`` classes of every video file or frame folder,
    sampled and cropped as the checkpoint's test-time input (the release's: 8 segment centres, 256 x 256)."""
    device = next(trained.model.parameters()).device
    results = []
    for path in videos:
        view = load_clip(path, trained.config)
        tube = explain_tube(trained.model, view.clip.to(device), "predicted", method, normalise)
        scores = torch.softmax(tube.logits.float(), dim=-1)
        best = scores.topk(min(top, scores.numel()))
        names = tuple((trained.class_names[int(i)], float(s)) for s, i in zip(best.values, best.indices,
                                                                               strict=True))
        results.append(VideoExplanation(view, tube, names))
    return results


def no_checkpoint_message() -> str:
    """What to do when no checkpoint is given: where the release publishes its weights."""
    return (f"No checkpoint given, so this section is skipped. The authors publish their trained CT-Net "
            f"({RELEASE_WEIGHTS}) at {RELEASE_DOWNLOAD}; download it, set the parameter checkpoint to its "
            "path (and class_file to the release's category.txt) and run again. A ctnet-lab run folder or "
            "checkpoint works too.")
