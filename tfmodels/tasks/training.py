"""The callbacks every training task uses: resumable state, atomic best checkpoint, logs.

An interrupted `model.fit` (Ctrl-C, SIGTERM, a crash) rerun with the same `work_dir` resumes
from the last finished epoch: `keras.callbacks.BackupAndRestore` keeps the weights, optimizer
state and epoch in `work_dir/backup/<phase>` and deletes them when training ends.
"""

import os

import keras

from tfmodels.callbacks import ModelCheckpoint


def training_callbacks(work_dir, phase, monitor=None, mode="max", tensorboard=True):
    """Callbacks for one training phase of a task.

    Args:
        work_dir: the task's run folder, or None for none of them (no files written).
        phase: a name for this phase (`"float"`, `"qat"`, `"train"`): sub-folder and file stem.
        monitor: with it, the best model by this log is saved to `work_dir/<phase>.keras`
            (atomically, `tfmodels.callbacks.ModelCheckpoint`).
        mode: `"max"` or `"min"` for `monitor`.
        tensorboard: write TensorBoard logs to `work_dir/logs/<phase>`.

    Every epoch's logs are also appended to `work_dir/logs/<phase>.csv` (kept across resumed
    runs, so the learning curve covers the whole training).

    Returns:
        A list of callbacks for `model.fit`.
    """
    if work_dir is None:
        return []
    backup_dir = os.path.join(work_dir, "backup", phase)
    csv_path = os.path.join(work_dir, "logs", f"{phase}.csv")
    if not os.path.exists(backup_dir) and os.path.exists(csv_path):
        os.remove(csv_path)  # a fresh run, not a resumed one: its curve starts anew
    callbacks = [keras.callbacks.BackupAndRestore(backup_dir, delete_checkpoint=True)]
    if monitor is not None:
        callbacks.append(ModelCheckpoint(os.path.join(work_dir, f"{phase}.keras"), monitor, mode))
    os.makedirs(os.path.join(work_dir, "logs"), exist_ok=True)
    callbacks.append(keras.callbacks.CSVLogger(csv_path, append=True))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(
            os.path.join(work_dir, "logs", phase), write_graph=False, profile_batch=0
        ))
    return callbacks


def write_learning_curve(path, csv_paths, metrics=("loss", "val_loss")):
    """Draws the logged `metrics` of one or more phases (`{phase: csv path}`) against the
    epoch, phases one after the other, into a PNG written atomically; returns `path`.

    Missing CSV files and metrics are skipped; with nothing to draw, nothing is written (None).
    """
    import csv

    from tfmodels.utils import plotting

    series, offset = [], 0
    for phase, csv_path in csv_paths.items():
        if not os.path.isfile(csv_path):
            continue
        with open(csv_path, newline="") as f:
            rows = [row for row in csv.DictReader(f) if row.get("epoch", "").isdigit()]
        for metric in metrics:
            values = [float(row[metric]) for row in rows if row.get(metric) not in (None, "")]
            if values:
                epochs = [offset + i + 1 for i in range(len(values))]
                series.append((f"{phase} {metric}", epochs, values))
        offset += len(rows)
    if not series:
        return None
    fig, ax = plotting.pyplot().subplots(figsize=(7, 4))
    for label, epochs, values in series:
        ax.plot(epochs, values, "-o", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return plotting.write_png(fig, path, dpi=100)
