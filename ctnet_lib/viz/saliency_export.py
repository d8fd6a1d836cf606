"""Files of a saliency tube: the overlaid clip as an animated GIF and an H.264 MP4, the raw volume as
``.npy`` and a figure as PNG. Every file is written to a temporary name and renamed (never half-written)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import av
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from ctnet_lib.explain.clips import ClipView
from ctnet_lib.explain.methods import Tube
from ctnet_lib.io_utils import atomic_output
from ctnet_lib.validation import check_at_least, check_output_folder
from ctnet_lib.viz.saliency_figures import frame_grid_figure, overlay_frames

__all__ = ["export_tubes", "save_figure_png", "save_volume", "write_gif", "write_mp4"]


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be uint8 (T, H, W, 3) with T >= 1, got {frames.dtype} {frames.shape}")
    return frames


def write_gif(path: str | Path, frames: np.ndarray, fps: float = 4.0) -> Path:
    """An endlessly looping GIF of ``frames`` uint8 (T, H, W, 3) at ``fps`` frames per second."""
    images = [Image.fromarray(frame) for frame in _check_frames(frames)]
    with atomic_output(path) as temporary:
        images[0].save(temporary, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0)
    return Path(path)


def write_mp4(path: str | Path, frames: np.ndarray, fps: int = 4) -> Path:
    """An H.264 MP4 (yuv420p) of ``frames`` uint8 (T, H, W, 3); odd sides are padded by one pixel."""
    frames = _check_frames(frames)
    _, height, width, _ = frames.shape
    padded = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    with atomic_output(path) as temporary, av.open(str(temporary), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = padded.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in padded:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return Path(path)


def save_volume(path: str | Path, volume: np.ndarray) -> Path:
    """``volume`` as a NumPy ``.npy`` file."""
    with atomic_output(path) as temporary, open(temporary, "xb") as file:
        np.save(file, np.asarray(volume))
    return Path(path)


def save_figure_png(path: str | Path, figure: Figure, dpi: int = 120) -> Path:
    """A matplotlib figure as PNG."""
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    return Path(path)


def export_tubes(
    out_dir: str | Path, view: ClipView, tubes: Mapping[str, Tube], title: str = "", fps: int = 4
) -> list[Path]:
    """Write the tubes of one clip (``tubes``: model name -> tube) into ``out_dir``, named after the video:
    ``<video>.grid.png`` (every model over the clip), and per model ``<video>.<model>.overlay.mp4`` and
    ``.overlay.gif`` (the tube blended over the clip), ``<video>.<model>.saliency.npy`` (the normalised
    volume (T, H, W), float32) and ``<video>.<model>.raw.npy`` (the method's unnormalised output at its
    own resolution, e.g. (T', h, w) class activations). Returns the paths written."""
    check_at_least("fps", fps, 1)
    stem = check_output_folder(out_dir, "output folder") / view.path.name
    volumes = {name: tube.volume.detach().cpu().numpy().astype(np.float32) for name, tube in tubes.items()}
    grid = frame_grid_figure(view.frames, volumes, view.mask, title, [f"frame {i}" for i in view.indices])
    written = [save_figure_png(f"{stem}.grid.png", grid)]
    for name, volume in volumes.items():
        overlay = overlay_frames(view.frames, volume)
        written += [write_mp4(f"{stem}.{name}.overlay.mp4", overlay, fps),
                    write_gif(f"{stem}.{name}.overlay.gif", overlay, fps),
                    save_volume(f"{stem}.{name}.saliency.npy", volume),
                    save_volume(f"{stem}.{name}.raw.npy", tubes[name].raw.detach().cpu().numpy())]
    return written
