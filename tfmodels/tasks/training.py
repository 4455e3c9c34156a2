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

    Returns:
        A list of callbacks for `model.fit`.
    """
    if work_dir is None:
        return []
    callbacks = [
        keras.callbacks.BackupAndRestore(
            os.path.join(work_dir, "backup", phase), delete_checkpoint=True
        )
    ]
    if monitor is not None:
        callbacks.append(ModelCheckpoint(os.path.join(work_dir, f"{phase}.keras"), monitor, mode))
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(
            os.path.join(work_dir, "logs", phase), write_graph=False, profile_batch=0
        ))
    return callbacks
