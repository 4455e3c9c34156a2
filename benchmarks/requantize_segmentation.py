"""Re-export a trained FC-DenseNet QAT checkpoint with the current QAT graph and score it.

Loads a QAT `.keras` file written by `tfmodels-train --task=segmentation` (any earlier QAT
graph), rebuilds it as `FCDenseNet(quantize=True)` with the current code at the frame size of
the split, copies every weight by layer and variable name (quantizer ranges the current graph
no longer has are dropped), exports the int8 `.tflite` with `--calibration_frames` training
frames (as the task does), and scores the QAT Keras model and the int8 file in LiteRT on the
split: mIoU, global accuracy, per-class IoU and the argmax agreement of the two. No training.

Usage:
    python benchmarks/requantize_segmentation.py --qat export/camvid/runs/segmentation/qat.keras \
        --data_dir data/CamVid --split test --out export/camvid/requantized.tflite
"""

import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qat", required=True)
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--calibration_frames", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N frames")
    parser.add_argument("--out", default="export/camvid/requantized.tflite")
    args = parser.parse_args()

    import keras
    import numpy as np

    from tfmodels.data import camvid
    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner
    from tfmodels.metrics.segmentation import confusion_matrix, scores_from_confusion_matrix
    from tfmodels.models.segmentation import FCDenseNet
    from tfmodels.tasks import segmentation

    old = keras.saving.load_model(args.qat, compile=False)
    if not isinstance(old, FCDenseNet) or not old.quantize:
        raise ValueError(f"{args.qat} is not a quantization-aware FCDenseNet")
    images, labels = [], []
    data = camvid.load_dataset(args.data_dir, args.split, batch_size=1, training=False)
    for image, label, _ in data.as_numpy_iterator():
        images.append(image)
        labels.append(label)
        if args.limit and len(images) >= args.limit:
            break
    images, labels = np.concatenate(images), np.concatenate(labels)
    model = FCDenseNet.from_config({**old.get_config(), "input_shape": images.shape[1:]})
    _copy_by_name(old, model)

    calibration = segmentation._calibration_frames(args.data_dir, args.calibration_frames)
    report = export_tflite(model, args.out, mode="int8", representative_data=calibration)
    # Frame by frame into confusion matrices: 233 full-frame logit arrays would not fit in memory.
    matrices = {"qat": 0, "int8_tflite": 0}
    agree = scored = agree_all = 0
    runner = LiteRTRunner(report.path)
    for image, label in zip(images, labels):
        qat = np.argmax(model.predict(image[None], verbose=0), -1)
        int8 = np.argmax(next(iter(runner(image[None]).values())), -1)
        matrices["qat"] = matrices["qat"] + confusion_matrix(label[None], qat)
        matrices["int8_tflite"] = matrices["int8_tflite"] + confusion_matrix(label[None], int8)
        same = qat[0] == int8[0]
        valid = label != camvid.VOID
        agree, scored = agree + int(same[valid].sum()), scored + int(valid.sum())
        agree_all += float(same.mean())
    result = {"frames": len(images), "tflite": report.path}
    for name, matrix in matrices.items():
        scores = scores_from_confusion_matrix(matrix)
        result[name] = {
            "mean_iou": float(scores["mean_iou"]),
            "global_accuracy": float(scores["global_accuracy"]),
            "per_class_iou": [round(float(v), 4) for v in scores["per_class_iou"]],
        }
    result["argmax_agreement"] = agree / max(scored, 1)
    result["argmax_agreement_all_pixels"] = agree_all / len(images)  # void included
    print(json.dumps(result, indent=1))


def _copy_by_name(old, new):
    """Copies `old`'s weights into `new` by layer name and variable path within the layer."""
    for layer in new.layers:
        if not layer.weights:
            continue
        source = {_local(w.path): w for w in old.get_layer(layer.name).weights}
        for weight in layer.weights:
            weight.assign(source[_local(weight.path)])


def _local(path):
    return path.split("/", 1)[1] if "/" in path else path


if __name__ == "__main__":
    main()
