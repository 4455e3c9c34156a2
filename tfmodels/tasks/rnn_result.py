"""`RNNTaskResult`: what every quantized-RNN task run reports (char_lm, digits)."""

import dataclasses


@dataclasses.dataclass
class RNNTaskResult:
    """The run and its artifacts; subclasses add the task's scores.

    Attributes:
        cell, quantizer, stochastic, seed: the run.
        model_path: the `.keras` file (None when not exported).
        tflite: `{mode: ExportReport}` of the step models.
    """

    cell: str
    quantizer: str
    stochastic: bool
    seed: int
    model_path: str = dataclasses.field(default=None, kw_only=True)
    tflite: dict = dataclasses.field(default_factory=dict, kw_only=True)

    @property
    def name(self):
        return f"{self.cell}/{self.quantizer}{' (stochastic)' if self.stochastic else ''}"

    def format(self, task, scores, device_label, device, fmt):
        """The printed summary: `task name seed: scores`, artifacts, device scores by `fmt`."""
        lines = [f"{task} {self.name} seed={self.seed}: {scores}"]
        if self.model_path:
            lines.append(f"  model: {self.model_path}")
        for mode, report in self.tflite.items():
            lines.append(f"  {mode}: {report.path} ({report.size_bytes / 1024:.1f} KiB)")
        if device:
            lines.append(f"  {device_label}: " + ", ".join(
                f"{k} {fmt(v)}" for k, v in device.items()))
        return "\n".join(lines)
