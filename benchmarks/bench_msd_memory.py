"""Benchmark: MS-D autograd memory and speed, in-place buffer + custom backward vs naive concatenation.

Memory is what autograd keeps for the backward pass (saved tensors, parameters excluded); time is one
forward + backward, best of 3, both measured in the same process on the same input.

    .venv/bin/python benchmarks/bench_msd_memory.py [--size 128] [--depths 25 50 100] [--out ...json]
"""
import argparse
import time
from pathlib import Path

import torch

from tomorois_surfora.engine.roi.memory import autograd_saved_bytes
from tomorois_surfora.engine.roi.msd import MSDNet

from results_json import write_result


def seconds(forward, x, repeats=3):
    forward(x).sum().backward()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        forward(x).sum().backward()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="2D input side in pixels (default 128)")
    parser.add_argument("--depths", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "msd_memory.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(1, 1, args.size, args.size, requires_grad=True)
    rows = []
    for depth in args.depths:
        net = MSDNet(1, 1, depth=depth, width=1, dims=2)
        row = {"depth": depth, "ours_MiB": autograd_saved_bytes(net, net.forward, x) / 2 ** 20,
               "naive_MiB": autograd_saved_bytes(net, net.forward_naive, x) / 2 ** 20,
               "ours_s": seconds(net.forward, x), "naive_s": seconds(net.forward_naive, x)}
        row["memory_ratio"] = row["naive_MiB"] / row["ours_MiB"]
        row["time_ratio"] = row["naive_s"] / row["ours_s"]
        rows.append(row)
    print(f"MS-D 2D, width 1, {args.size}x{args.size}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'depth':>6}{'ours MiB':>10}{'naive MiB':>11}{'naive/ours':>12}{'ours s':>9}{'naive s':>9}{'naive/ours':>12}")
    for r in rows:
        print(f"{r['depth']:>6}{r['ours_MiB']:>10.1f}{r['naive_MiB']:>11.1f}{r['memory_ratio']:>12.1f}"
              f"{r['ours_s']:>9.3f}{r['naive_s']:>9.3f}{r['time_ratio']:>12.2f}")
    write_result(args.out, {"size": args.size, "rows": rows})


if __name__ == "__main__":
    main()
