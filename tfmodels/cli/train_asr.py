"""Flags and entry for `tfmodels-train --task=asr` (placeholder until the task lands)."""

from absl import app


def main():
    raise app.UsageError("--task=asr is not implemented yet")
