"""The README's PPGN figures and tables: PPGN parts trained on real MNIST at CPU scale,
class-conditional samples per variant, an eps1/eps3 ablation, reset_every, neurons, inpainting.

Usage (parts are trained once and cached under --out/parts; later runs only sample):
  nice -n 10 env OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
      python benchmarks/ppgn_mnist.py [--out=export/ppgn_mnist] [--steps=200]
      [--samples_per_class=10] [--classifier_epochs=3] [--generator_epochs=6] [--dae_epochs=10]
      [--parts_only]

Writes --out/*.png, joint_ppgn_h.gif, report.json (the variant table) and ablation.json, and
prints both tables. Every number comes from the independent MLP classifier, never from C.
"""

import argparse
import json
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="export/ppgn_mnist")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--samples_per_class", type=int, default=10)
    parser.add_argument("--classifier_epochs", type=int, default=3)
    parser.add_argument("--generator_epochs", type=int, default=6)
    parser.add_argument("--dae_epochs", type=int, default=10)
    parser.add_argument("--train_limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts_only", action="store_true")
    parser.add_argument("--ablation_eps1", default="0,0.1,0.3,1")
    parser.add_argument("--ablation_eps3", default="0,0.05,0.2")
    args = parser.parse_args()

    import keras
    import numpy as np

    from tfmodels.data import mnist
    from tfmodels.tasks import ppgn
    from tfmodels.utils import atomic

    data = mnist.load(normalize=True)
    if args.train_limit:
        limit = args.train_limit
        data.x_train, data.y_train = data.x_train[:limit], data.y_train[:limit]
    parts_dir = os.path.join(args.out, "parts")
    if os.path.isfile(os.path.join(parts_dir, "parts.json")):
        parts = ppgn.load_parts(parts_dir)
    else:
        parts = ppgn.train_parts(data, classifier_epochs=args.classifier_epochs,
                                 generator_epochs=args.generator_epochs,
                                 dae_epochs=args.dae_epochs, seed=args.seed, verbose=2)
        ppgn.save_parts(parts, parts_dir)
    print(f"parts: {parts.accuracies}, code std {parts.code_std:.3f}, clip high "
          f"{parts.code_high:.2f}, {parts.train_seconds:.0f} s training (loaded 2-core machine)")
    if args.parts_only:
        return

    result = ppgn.evaluate_parts(parts, data, samples_per_class=args.samples_per_class,
                                 steps=args.steps, seed=args.seed, out=args.out,
                                 settings=vars(args))
    print(result)

    # Ablation: eps1 (prior) and eps3 (noise) for the two learned priors.
    x_test = data.x_test[..., None]
    features = keras.Model(parts.independent.input,
                           parts.independent.get_layer("features").output)
    real_features = np.asarray(features.predict(x_test[:2000], batch_size=500, verbose=0))
    targets = np.repeat(np.arange(10), args.samples_per_class)
    rows = []
    for variant in ("ppgn_h", "joint_ppgn_h"):
        for eps1 in [float(v) for v in args.ablation_eps1.split(",")]:
            for eps3 in [float(v) for v in args.ablation_eps3.split(",")]:
                sample, seconds = ppgn.run_variant(parts, variant, targets, args.steps,
                                                   eps1=eps1, eps3=eps3, seed=args.seed)
                row = ppgn.score_samples(parts.independent, sample.images, targets,
                                         real_features)
                row.update(variant=variant, eps1=eps1, eps3=eps3,
                           c_confidence=float(sample.probabilities.mean()), seconds=seconds)
                rows.append(row)
                print(f"  {variant:<13} eps1 {eps1:<5g} eps3 {eps3:<5g}  C conf "
                      f"{row['c_confidence']:.3f}  indep conf {row['confidence']:.3f}  acc "
                      f"{row['accuracy']:.3f}  IS {row['inception_score']:.2f}  Frechet "
                      f"{row['frechet']:.2f}  diversity {row['diversity']:.2f}", flush=True)
    # reset_every: one long chain per class, a sample kept before each reset.
    steps_per = args.steps
    sample, seconds = ppgn.run_variant(parts, "joint_ppgn_h", np.arange(10),
                                       steps_per * args.samples_per_class,
                                       reset_every=steps_per, seed=args.seed)
    images = np.concatenate(sample.samples)
    chain_targets = np.tile(np.arange(10), len(sample.samples))
    row = ppgn.score_samples(parts.independent, images, chain_targets, real_features)
    row.update(variant="joint_ppgn_h, one chain per class, reset_every", eps1=None, eps3=None,
               c_confidence=None, seconds=seconds, reset_every=steps_per)
    rows.append(row)
    print(f"  joint_ppgn_h reset_every={steps_per}: indep conf {row['confidence']:.3f} acc "
          f"{row['accuracy']:.3f} IS {row['inception_score']:.2f} Frechet {row['frechet']:.2f} "
          f"diversity {row['diversity']:.2f}")
    atomic.write_json(os.path.join(args.out, "ablation.json"), rows)
    print(json.dumps({"out": args.out}))


if __name__ == "__main__":
    main()
