"""The paper's probe figure (arXiv:1610.01644, Figures 5-8) from a `LinearProbes.history`.

Probe error against layer depth, train solid and validation dashed, one colour per probed
epoch (early dark, late light); in pixel mode the probe mean IoU beside it; in step mode the
error against the time step, one panel per layer. `write_animation` draws one frame per
epoch (earlier epochs faded) into a GIF. Every file is written atomically.
"""

import io

import numpy as np
from PIL import Image

from tfmodels.utils import atomic
from tfmodels.utils.plotting import pyplot, write_png


def draw(history, upto=None, title=None):
    """A matplotlib figure of `history` (the first `upto` probed epochs; all when None)."""
    plt = pyplot()
    entries = history["epochs"][:upto] if upto else history["epochs"]
    names = history["layers"]
    mode = history["mode"]
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(len(history["epochs"]), 1)))
    if mode == "step":
        fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names) + 1, 3.4),
                                 squeeze=False)
        for ax, name in zip(axes[0], names):
            for i, entry in enumerate(entries):
                scores = entry["layers"][name]
                alpha = 1.0 if i == len(entries) - 1 or upto is None else 0.35
                steps = np.arange(1, len(scores["error"]) + 1)
                ax.plot(steps, scores["error"], "-", color=colours[i], alpha=alpha,
                        label=f"epoch {entry['epoch']}")
                if "val_error" in scores:
                    ax.plot(steps, scores["val_error"], "--", color=colours[i], alpha=alpha)
            ax.set_title(name, fontsize=9)
            ax.set_xlabel("time step")
            ax.set_ylim(0, 1)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("probe error")
    else:
        panels = [("error", "probe error")] + ([("miou", "probe mean IoU")]
                                               if mode == "pixel" else [])
        fig, axes = plt.subplots(1, len(panels), figsize=(max(6, 0.22 * len(names) + 3) *
                                                          len(panels), 4.2), squeeze=False)
        depth = np.arange(len(names))
        for ax, (metric, label) in zip(axes[0], panels):
            for i, entry in enumerate(entries):
                alpha = 1.0 if i == len(entries) - 1 or upto is None else 0.35
                train = [entry["layers"][n][metric] for n in names]
                ax.plot(depth, train, "-o", ms=2.5, color=colours[i], alpha=alpha,
                        label=f"epoch {entry['epoch']}")
                if f"val_{metric}" in entry["layers"][names[0]]:
                    valid = [entry["layers"][n][f"val_{metric}"] for n in names]
                    ax.plot(depth, valid, "--", color=colours[i], alpha=alpha)
            ax.set_ylabel(label + " (train -, valid --)")
            ax.set_xlabel("layer")
            if len(names) <= 30:
                ax.set_xticks(depth, names, rotation=70, fontsize=7, ha="right")
            else:
                ax.set_xlabel("layer depth (index among probed layers)")
            if metric == "error":
                ax.set_yscale("log") if history.get("log_scale") else ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        axes[0][-1].legend(handles, labels, fontsize=7, loc="best")
    fig.suptitle(title or history.get("title") or "Linear classifier probes", fontsize=10)
    fig.tight_layout()
    return fig


def write_figure(history, path):
    """Writes the figure of every probed epoch to the PNG `path` (atomically); returns `path`."""
    return write_png(draw(history), path, dpi=90)


def write_animation(history, path, duration_ms=700):
    """Writes a GIF with one frame per probed epoch to `path` (atomically); returns `path`."""
    plt = pyplot()
    frames = []
    for upto in range(1, len(history["epochs"]) + 1):
        fig = draw(history, upto=upto,
                   title=f"{history.get('title') or 'Linear classifier probes'} - epoch "
                         f"{history['epochs'][upto - 1]['epoch']}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=70)
        plt.close(fig)
        buffer.seek(0)
        frames.append(Image.open(buffer).convert("P", palette=Image.ADAPTIVE))
    with atomic.atomic_path(path) as temp:
        frames[0].save(temp, format="GIF", save_all=True, append_images=frames[1:],
                       duration=duration_ms, loop=0)
    return path
