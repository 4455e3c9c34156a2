"""The device path of the ASR model, measured: raw audio streamed through LiteRT in chunks.

Exports the raw-audio step `.tflite` of a trained model with causal features
(`tfmodels-train --task=asr --feature_normalization=causal`) as float32, dynamic-range int8
(int8 weights) and full int8, streams held-out utterances through each with
`StreamingTranscriber` in chunks of 10, 50 and 200 ms, and prints a markdown table:
real-time factor (processing time / audio time), the mean and p95 latency of one `feed`
(the wall time from a chunk's arrival to its partial transcript; most 10 and 50 ms feeds only
buffer, so the p95 can sit below the mean), the mean time of one invoke of the file (one
step), the share of transcripts
equal to the offline Keras model's (greedy CTC, same features), and the WER of both against
the references. The file's own step (`chunk_frames` feature frames, 80 ms by default) sets
the algorithmic latency: a 10 ms feed returns at once until a step's samples are there.

Usage:
    python benchmarks/asr_streaming.py --model export/asr/baseline_asr.keras \
        [--data_dir data/speech] [--split test_clean] [--utterances 40] [--threads 1]
"""

import argparse
import os
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data_dir", default="data/speech")
    parser.add_argument("--split", default="test_clean")
    parser.add_argument("--utterances", type=int, default=40)
    parser.add_argument("--chunks_ms", default="10,50,200")
    parser.add_argument("--modes", default="float32,dynamic_int8,int8")
    parser.add_argument("--chunk_frames", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out_dir", default="export/asr_streaming")
    args = parser.parse_args()

    import keras
    import numpy as np

    from tfmodels.data import speech
    from tfmodels.export import asr as asr_export
    from tfmodels.export.streaming_transcriber import StreamingTranscriber
    from tfmodels.metrics.speech import word_error_rate
    from tfmodels.models.asr.decoding import greedy_decode
    from tfmodels.tasks.asr import read_waveform

    if not os.path.isfile(args.model):
        raise SystemExit(f"--model: no file at {args.model}")
    model = keras.saving.load_model(args.model)
    vocabulary = speech.Vocabulary()
    records = speech.load_manifest(os.path.join(args.data_dir, f"{args.split}.jsonl"),
                                   vocabulary)[: args.utterances]
    waves = [read_waveform(r) for r in records]
    references = [r.text for r in records]
    offline = []
    for wave in waves:
        out = model.predict({"waveform": wave[None],
                             "waveform_length": np.array([len(wave)], "int32")}, verbose=0)
        offline.append(vocabulary.decode(greedy_decode(out["logits"], out["frame_length"])[0]))
    calibration = [read_waveform(r) for r in speech.load_manifest(
        os.path.join(args.data_dir, "dev.jsonl"), vocabulary)[:8]]
    os.makedirs(args.out_dir, exist_ok=True)
    sample_rate = model.get_layer("features").sample_rate
    frame_step = model.get_layer("features").frame_step
    step_ms = 1000 * args.chunk_frames * frame_step / sample_rate
    print(f"{len(waves)} utterances of {args.split}, {sum(map(len, waves)) / sample_rate:.1f} s; "
          f"file step {step_ms:.0f} ms; offline WER "
          f"{word_error_rate(references, offline).rate:.3f}; LiteRT threads {args.threads}\n")
    print("| file | KiB | chunk ms | RTF | feed latency mean / p95 ms | step invoke ms | "
          "same transcript as offline | WER |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in args.modes.split(","):
        path = os.path.join(args.out_dir, f"stream_{mode}.tflite")
        report = asr_export.export_streaming_tflite(
            model, path, calibration, chunk_frames=args.chunk_frames, mode=mode, raw_audio=True)
        transcriber = StreamingTranscriber(path, vocabulary.tokens, frame_step=frame_step,
                                           num_threads=args.threads,
                                           output_delay=getattr(model, "output_delay", 0))
        for chunk_ms in (int(c) for c in args.chunks_ms.split(",")):
            chunk = chunk_ms * sample_rate // 1000
            latencies, texts, busy, invokes = [], [], 0.0, []
            for wave in waves:
                transcriber.reset()
                for start in range(0, len(wave), chunk):
                    tick = time.perf_counter()
                    transcriber.feed(wave[start : start + chunk])
                    latencies.append(time.perf_counter() - tick)
                tick = time.perf_counter()
                texts.append(transcriber.finish())
                invokes += transcriber.final_invoke_seconds
                busy += time.perf_counter() - tick
            busy += sum(latencies)
            audio_s = sum(map(len, waves)) / sample_rate
            same = np.mean([t == o for t, o in zip(texts, offline)])
            print(f"| {mode} | {report.size_bytes / 1024:.0f} | {chunk_ms} | "
                  f"{busy / audio_s:.4f} | {1000 * np.mean(latencies):.2f} / "
                  f"{1000 * np.percentile(latencies, 95):.2f} | {1000 * np.mean(invokes):.2f} | "
                  f"{same:.3f} | "
                  f"{word_error_rate(references, texts).rate:.3f} |")


if __name__ == "__main__":
    main()
