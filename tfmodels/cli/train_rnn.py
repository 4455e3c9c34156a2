"""Flags and entry for `tfmodels-train --task=char_lm|digits` (placeholder until the task lands)."""

from absl import app


def main_char_lm():
    raise app.UsageError("--task=char_lm is not implemented yet")


def main_digits():
    raise app.UsageError("--task=digits is not implemented yet")
