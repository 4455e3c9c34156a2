"""Generates the embedded datasets that need no download, deterministically from a seed.

Usage:
  tfmodels-data --dataset=scenes   # street scenes in the CamVid layout -> data/scenes
  tfmodels-data --dataset=text     # stdlib-docstring character corpus  -> data/text
  tfmodels-data --dataset=speech   # noisy connected digits, espeak-ng/flite/festival -> data/speech
  tfmodels-data --dataset=speech --holdout_engines=festival   # + test_holdout_engine.jsonl
  tfmodels-data --dataset=scenes --height=360 --width=480 --out_dir=data/scenes_full
  tfmodels-data --dataset=noisy_copy --source=my_corpus --out_dir=data/my_corpus_noisy \
      --seen_noise_types=babble,white   # a noisy copy of a speech corpus (any layout)

Each generator writes into a temporary folder and renames it into place, so an interrupted run
never leaves a half-written dataset. An existing non-empty dataset folder is refused unless
--overwrite is given.
"""

import json
import os

from absl import app, flags

from tfmodels.cli import errors

_DATASET = flags.DEFINE_enum(
    "dataset", None, ["scenes", "text", "speech", "noisy_copy"],
    "Which dataset to generate (noisy_copy: noise mixed into the --source speech corpus).",
    required=True,
)
_SOURCE = flags.DEFINE_string(
    "source", None, "noisy_copy: the clean speech corpus (JSONL manifests, Kaldi, Speech "
    "Commands).")
_SEEN_TYPES = flags.DEFINE_list(
    "seen_noise_types", ["babble", "engine", "street", "white"],
    "noisy_copy: training noise types (synthesized, or the corpus's noise recordings).")
_UNSEEN_TYPES = flags.DEFINE_list(
    "unseen_noise_types", None, "noisy_copy: held-out test noise types. Default: all others.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Target folder. Default: data/<dataset>.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed: same seed and sizes, same files.", lower_bound=0)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing dataset folder.")
_NUM_TRAIN = flags.DEFINE_integer(
    "num_train", None, "scenes: training frames; speech: training utterances. Default: the generator's.",
    lower_bound=1
)
_NUM_VAL = flags.DEFINE_integer(
    "num_val", None, "scenes: validation frames; speech: dev utterances.", lower_bound=0
)
_NUM_TEST = flags.DEFINE_integer("num_test", None, "scenes: test frames; speech: test utterances.",
                                 lower_bound=0)
_ENGINES = flags.DEFINE_list(
    "engines", None, "speech: synthesizers (espeak-ng, flite, festival). Default: all installed.")
_HOLDOUT_ENGINES = flags.DEFINE_list(
    "holdout_engines", [], "speech: engines spoken only in the test_holdout_engine split.")
_HEIGHT = flags.DEFINE_integer("height", None, "scenes: frame height (default 96).", lower_bound=1)
_WIDTH = flags.DEFINE_integer("width", None, "scenes: frame width (default 128).", lower_bound=1)


def _sizes(names):
    values = (_NUM_TRAIN.value, _NUM_VAL.value, _NUM_TEST.value)
    return {name: value for name, value in zip(names, values) if value is not None}


def generate(dataset, out_dir, seed, overwrite):
    """Generates one embedded dataset; returns a JSON-serializable summary."""
    # Checked here, in the command's words, before any generator starts work.
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"--out_dir {out_dir} is a file, not a folder")
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not overwrite:
        raise ValueError(f"--out_dir {out_dir} exists and is not empty; pass --overwrite")
    if dataset == "scenes":
        from tfmodels.data import scenes

        sizes = _sizes(("num_train", "num_val", "num_test"))
        for name, flag in (("height", _HEIGHT), ("width", _WIDTH)):
            if flag.value is not None:
                sizes[name] = flag.value
        return scenes.generate(out_dir, seed=seed, overwrite=overwrite, **sizes)
    if dataset == "speech":
        from tfmodels.data import speech

        # The corpus `tfmodels-train --task=asr` generates when data/speech is missing.
        sizes = {**speech.DEFAULT_CORPUS, **_sizes(("train_utterances", "dev_utterances", "test_utterances"))}
        engines = tuple(_ENGINES.value) if _ENGINES.value else None
        return {"path": str(speech.generate(out_dir, seed=seed, overwrite=overwrite,
                                            engines=engines,
                                            holdout_engines=tuple(_HOLDOUT_ENGINES.value),
                                            **sizes))}
    if dataset == "noisy_copy":
        from tfmodels.data import corpora

        if not _SOURCE.value:
            raise ValueError("--dataset=noisy_copy needs --source=<speech corpus folder>")
        path = corpora.write_noisy_corpus(
            _SOURCE.value, out_dir, _SEEN_TYPES.value, _UNSEEN_TYPES.value or None, seed=seed,
            overwrite=overwrite)
        return {"path": str(path), "source": _SOURCE.value}
    from tfmodels.data import text

    return text.generate(out_dir, seed=seed)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    out_dir = _OUT_DIR.value or os.path.join("data", _DATASET.value)
    summary = errors.run_or_exit(
        "tfmodels-data", generate, _DATASET.value, out_dir, _SEED.value, _OVERWRITE.value
    )
    print(json.dumps(summary, indent=2, default=str))


def run():
    # Under `bazel run` the working directory is the runfiles tree; use the caller's instead.
    os.chdir(os.environ.get("BUILD_WORKING_DIRECTORY", "."))
    app.run(main)


if __name__ == "__main__":
    run()
