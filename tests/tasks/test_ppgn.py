"""tasks.ppgn: argument errors come before any work; saved parts load back."""

import numpy as np
import pytest

from tfmodels.tasks import ppgn


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), "steps"),
    (dict(variants=("ppgn_z",)), "variants"),
    (dict(neurons=100), "neurons"),
    (dict(train_limit=0), "train_limit"),
])
def test_bad_arguments_before_any_work(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        ppgn.train_ppgn(data_dir=str(tmp_path / "missing"), export_dir=str(tmp_path / "out"),
                        **kwargs)
    assert not (tmp_path / "out").exists()


def test_parts_round_trip(tmp_path):
    from tfmodels.models import ppgn as nets

    parts = ppgn.PPGNParts(
        classifier=nets.mnist_classifier(code_units=4, filters=(2, 2)),
        independent=nets.independent_classifier(hidden=(8, 4)),
        generator=nets.generator(4, filters=(4, 2)), discriminator=nets.discriminator((2, 2)),
        code_dae=nets.code_dae(4, hidden=(3,)), image_dae=nets.image_dae(hidden=(4,)),
        code_high=3.5, code_std=0.7, accuracies={"classifier": 0.5}, train_seconds=1.0)
    files = ppgn.save_parts(parts, str(tmp_path / "parts"))
    assert set(files) == {"classifier", "independent", "generator", "discriminator",
                          "code_dae", "image_dae", "parts"}
    loaded = ppgn.load_parts(str(tmp_path / "parts"))
    h = np.random.default_rng(0).uniform(0, 1, (2, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded.generator(h)), np.asarray(parts.generator(h)),
                               atol=1e-6)
    assert (loaded.code_high, loaded.code_std) == (3.5, 0.7)
    with pytest.raises(FileNotFoundError, match="parts.json"):
        ppgn.load_parts(str(tmp_path))
