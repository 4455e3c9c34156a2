"""HM-LSTM (arXiv:1609.01704) experiments: BPC vs a parameter-matched LSTM, boundary F1, figure.

`--experiment=text`: HM-LSTM (slope annealed / not) and a stacked LSTM with the same number of
parameters on the char corpus at `--data_dir`, same steps, per seed; layer-1 boundaries scored
against spaces, layer-2 against newlines. `--experiment=synthetic`: the HM-LSTM on a language
of known words written without spaces (`hm_lstm_experiment.synthetic_language`).
`--experiment=device`: exports a saved model's step `.tflite` (float32, int8) and steps it over
held-out text in LiteRT next to Keras. `--experiment=figure`: draws a text excerpt with each
layer's boundaries from a model saved by the text experiment. Each run writes a JSON to
`--out_dir` (reruns skip finished runs) and the script prints a markdown table
(`hm_lstm_experiment.results_table`). With `--boundary_every N` the text and synthetic runs
also score the HM-LSTMs' boundaries every N training batches
(`tfmodels.diagnostics.BoundaryHistory`) and draw F1 and boundary rate against the step of
every run into `--history_png`.

Usage:
    python benchmarks/hm_lstm.py --experiment=text [--data_dir data/text] [--seeds 0,1]
        [--steps 600] [--units 64] [--models hm_lstm,lstm] [--out_dir export/hm_lstm]
    python benchmarks/hm_lstm.py --experiment=synthetic [--seeds 0,1] [--steps 400]
        [--boundary_every 25 --history_png docs/hm_lstm/history_synthetic.png]
    python benchmarks/hm_lstm.py --experiment=figure --model export/hm_lstm/text__hm_lstm__0.keras
        --png docs/hm_lstm/boundaries.png
    python benchmarks/hm_lstm.py --experiment=device --model export/hm_lstm/text__hm_lstm__0.keras
"""

import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", choices=("text", "synthetic", "figure", "device"),
                        required=True)
    parser.add_argument("--data_dir", default="data/text")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--models", default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--units", type=int, default=None)
    parser.add_argument("--out_dir", default="export/hm_lstm")
    parser.add_argument("--model", default=None)
    parser.add_argument("--png", default="docs/hm_lstm/boundaries.png")
    parser.add_argument("--offset", type=int, default=0, help="figure: start in the valid split")
    parser.add_argument("--length", type=int, default=180, help="figure: excerpt length")
    parser.add_argument("--boundary_every", type=int, default=None,
                        help="text/synthetic: score boundaries every N training batches")
    parser.add_argument("--history_png", default=None,
                        help="text/synthetic: the boundary-history figure (with --boundary_every)")
    args = parser.parse_args()

    from tfmodels.tasks import hm_lstm_experiment as exp

    seeds = tuple(int(s) for s in args.seeds.split(","))
    sizes = {k: v for k, v in (("steps", args.steps), ("units", args.units)) if v is not None}
    if args.models:
        sizes["models"] = tuple(args.models.split(","))
    if args.history_png and args.boundary_every is None:
        parser.error("--history_png needs --boundary_every")
    if args.experiment in ("text", "synthetic"):
        if args.experiment == "text":
            rows = exp.compare_char_lm(args.data_dir, seeds=seeds, out_dir=args.out_dir,
                                       boundary_every=args.boundary_every, **sizes)
        else:
            rows = exp.compare_synthetic(seeds=seeds, out_dir=args.out_dir,
                                         boundary_every=args.boundary_every, **sizes)
        print(exp.results_table(rows))
        if args.boundary_every is not None:
            print(exp.history_table(rows))
        if args.history_png:
            exp.history_figure(rows, args.history_png,
                               title=f"HM-LSTM boundaries over training ({args.experiment})")
            print(f"wrote {args.history_png}")
    else:
        import keras

        from tfmodels.data import text as text_data

        if args.model is None:
            parser.error(f"--experiment={args.experiment} needs --model")
        corpus = text_data.load_char_corpus(args.data_dir)
        if args.experiment == "device":
            results = exp.device_check(keras.saving.load_model(args.model), corpus, args.out_dir)
            for mode, r in results.items():
                print(mode, ", ".join(f"{k} {[round(a, 4) for a in v]}" if isinstance(v, list)
                                      else f"{k} {v:.4f}" for k, v in r.items()))
            return
        excerpt = corpus.vocab.decode(corpus.valid[args.offset : args.offset + args.length])
        z = exp.boundary_figure(keras.saving.load_model(args.model), corpus.vocab, excerpt,
                                args.png, title=f"HM-LSTM boundaries ({args.model})")
        print(f"{args.png}: {len(excerpt)} characters, boundary rate per layer "
              f"{[round(float(r), 3) for r in z.mean(0)]}")


if __name__ == "__main__":
    main()
