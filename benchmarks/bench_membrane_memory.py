"""Benchmark: peak memory and time of `membrane predict` on 1000×1000 sections, at two depths.

A float32 noise tomogram at 10 Å (the shipped membrane model's grid), whole volume, default settings, run as
its own process; its peak resident memory from the kernel (rusage) and the private part sampled every 0.1 s
(see bench_scale.py). Two depths show what grows with the volume and what stays per stack. ``--planes xy``
labels x–y sections only (streamed a stack at a time); the default, every plane of the model, holds the volume.

    .venv/bin/python benchmarks/bench_membrane_memory.py [--depths 30 60] [--size 1000] [--planes xy --name xy]
"""
import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

from bench_scale import ROOT, run_stage
from results_json import write_result

MODEL = ROOT / "tomorois_surfora" / "engine" / "demo_models" / "membranes.pt"


def noise_tomogram(path, shape):
    from tomorois_surfora.engine.io import new_mrc_memmap

    rng = np.random.default_rng(0)
    with new_mrc_memmap(path, shape, 10.0) as data:
        for z in range(shape[0]):
            data[z] = rng.standard_normal(shape[1:], dtype=np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[30, 60])
    parser.add_argument("--size", type=int, default=1000, help="section side in voxels")
    parser.add_argument("--planes", help="section planes to label (default: all of the model's)")
    parser.add_argument("--name", default="", help="suffix of the result file")
    parser.add_argument("--work", type=Path, default=ROOT / "bench_scale_work" / "membrane")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    rows = []
    for depth in args.depths:
        shape = (depth, args.size, args.size)
        tomogram = args.work / f"noise_{depth}x{args.size}x{args.size}.mrc"
        noise_tomogram(tomogram, shape)
        seconds, peak, private, code = run_stage(
            f"{depth} sections", [sys.executable, "-m", "tomorois_surfora.engine", "membrane", "predict", tomogram,
                                  "--model", MODEL, "--out", args.work / "out", "--device", "cpu"]
            + (["--planes", args.planes] if args.planes else []),
            args.work / "predict.log")
        if code != 0:
            sys.exit(f"membrane predict failed; see {args.work / 'predict.log'}")
        rows.append({"shape_zyx": list(shape), "input_MiB": float(np.prod(shape)) * 4 / 2 ** 20, "seconds": seconds,
                     "peak_rss_MiB": peak, "peak_private_MiB": private})
        tomogram.unlink()
    planes = args.planes or "all of the model's"
    print(f"\nmembrane predict, shipped model ({planes} planes), {args.size}×{args.size} sections at 10 Å, float32 "
          "noise, CPU")
    print(f"{'sections':>9}{'input MiB':>11}{'seconds':>9}{'peak MiB':>10}{'private':>9}")
    for r in rows:
        print(f"{r['shape_zyx'][0]:>9}{r['input_MiB']:>11.0f}{r['seconds']:>9.1f}{r['peak_rss_MiB']:>10.0f}"
              f"{r['peak_private_MiB']:>9.0f}")
    write_result(f"membrane_memory{'_' + args.name if args.name else ''}.json", {"planes": planes, "rows": rows})


if __name__ == "__main__":
    main()
