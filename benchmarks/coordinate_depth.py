"""The depth claim of the coordinate networks, measured: MAE and PSNR of the rendered picture
for 1, 2, 4 and 6 hidden leaky-ReLU layers at an equal weight count and equal training time.

Each (depth, seed) run trains `coordinate_mlp(depth, width_for_parameters(depth, P))` with Adam
for `--seconds` of wall time (`tfmodels.tasks.coordinate.compare_depths`), writes one JSON per
finished run to `--out_dir` (rerunning skips finished runs) and prints a markdown table.
Wall time depends on the machine's load: the epochs each net reached are in the table.

Usage:
    python benchmarks/coordinate_depth.py [--image PATH] [--height 48] [--parameters 20000]
        [--seconds 30] [--seeds 0,1] [--out_dir export/coordinate_depth]
"""

import argparse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default=None)
    parser.add_argument("--height", type=int, default=48)
    parser.add_argument("--parameters", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--depths", default="1,2,4,6")
    parser.add_argument("--out_dir", default="export/coordinate_depth")
    args = parser.parse_args()

    from tfmodels.tasks import coordinate

    rows = coordinate.compare_depths(
        image=args.image, height=args.height, parameters=args.parameters, seconds=args.seconds,
        depths=tuple(int(d) for d in args.depths.split(",")),
        seeds=tuple(int(s) for s in args.seeds.split(",")), out_dir=args.out_dir)
    print(coordinate.depth_table(rows))


if __name__ == "__main__":
    main()
