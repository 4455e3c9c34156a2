"""Flags and entry for `tfmodels-train --task=segmentation` (placeholder until the task lands)."""

from absl import app


def main():
    raise app.UsageError("--task=segmentation is not implemented yet")
