"""`tfmodels-train --task=bnn`: flags reach the task, artifacts land in --export_dir."""

from absl import flags
from absl.testing import flagsaver

from tests.tasks.test_bnn import write_fixture
from tfmodels.cli import train


def test_bnn_cli_passes_the_qnn_options_and_writes_the_model(tmp_path, capsys):
    # The non-default options (2-bit activations, shift BN + shift AdaMax, cross-entropy, 6-bit
    # gradients) in one short run: the run name spells each of them.
    data_dir = write_fixture(tmp_path / "mnist", num_train=30, num_test=10)
    with flagsaver.flagsaver():
        flags.FLAGS(["tfmodels-train", "--task=bnn", "--preset=tiny", "--activations=linear2",
                     "--shift", "--loss=crossentropy", "--gradient_bits=6", "--epochs=1",
                     "--batch_size=10", "--validation=10", f"--data_dir={data_dir}",
                     f"--export_dir={tmp_path / 'out'}", "--noquantize", "--seed=2"])
        train.main(["tfmodels-train"])
    out = capsys.readouterr().out
    name = "mlp_tiny_w-binary_a-linear2_shift_xent_seed2"
    assert f"bnn {name}: test error" in out
    assert (tmp_path / "out" / f"{name}.keras").is_file()
    # --noquantize: no int8 file; 2-bit activations: no 1-bit packed file.
    assert not (tmp_path / "out" / f"{name}.int8.tflite").exists()
    assert not (tmp_path / "out" / f"{name}.packed.npz").exists()
