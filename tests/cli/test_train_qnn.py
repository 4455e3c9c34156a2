"""`tfmodels-train --task=bnn`: flags reach the task, artifacts land in --export_dir."""

from absl import flags
from absl.testing import flagsaver

from tests.tasks.test_bnn import write_fixture
from tfmodels.cli import train


def test_bnn_cli_trains_and_writes_the_packed_file(tmp_path, capsys):
    data_dir = write_fixture(tmp_path / "mnist", num_train=30, num_test=10)
    with flagsaver.flagsaver():
        flags.FLAGS(["tfmodels-train", "--task=bnn", "--preset=tiny", "--epochs=1",
                     "--batch_size=10", "--validation=10", f"--data_dir={data_dir}",
                     f"--export_dir={tmp_path / 'out'}", "--noquantize", "--seed=2"])
        train.main(["tfmodels-train"])
    out = capsys.readouterr().out
    assert "bnn mlp_tiny_w-binary_a-binary_seed2: test error" in out
    assert (tmp_path / "out" / "mlp_tiny_w-binary_a-binary_seed2.packed.npz").is_file()
    assert not (tmp_path / "out" / "mlp_tiny_w-binary_a-binary_seed2.int8.tflite").exists()
