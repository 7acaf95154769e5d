"""Benchmark: phantom generation time for a 256×256×128 tomogram at 1 nm voxels (target < 10 s on 2 cores).

Prints a table and writes JSON (default benchmarks/results/synth.json). Each stage is timed separately;
as a machine-independent figure the total is also given as a ratio to one forward + inverse real FFT of the
same volume, timed in the same process.

    .venv/bin/python benchmarks/bench_synth.py [--repeats 3] [--out benchmarks/results/synth.json]
"""
import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import scipy.fft

from tomorois_surfora.engine.synth import PhantomParameters, generate_phantom, item_rng
from tomorois_surfora.engine.synth.imaging import image_density
from tomorois_surfora.engine.synth.layout import layout_contacts, layout_invaginations
from tomorois_surfora.engine.synth.render import render_scene

from results_json import write_result


def _fft_reference(shape):
    volume = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    start = time.perf_counter()
    scipy.fft.irfftn(scipy.fft.rfftn(volume, workers=-1), s=shape, workers=-1)
    return time.perf_counter() - start


def _stages(kind, index, params):
    rng = item_rng(0, kind, index)
    layout = layout_contacts if kind == "contacts" else layout_invaginations
    times = {}
    start = time.perf_counter()
    scene = layout(params.extent_nm(), rng, getattr(params, kind))
    times["layout"] = time.perf_counter() - start
    start = time.perf_counter()
    density, _, _ = render_scene(scene, params.shape, params.voxel_size_nm, params.bilayer)
    times["render"] = time.perf_counter() - start
    start = time.perf_counter()
    image_density(density, params.voxel_size_nm, params.microscope, rng)
    times["imaging"] = time.perf_counter() - start
    start = time.perf_counter()
    phantom = generate_phantom(kind, 0, index, params)
    times["total"] = time.perf_counter() - start
    times["rois"] = len(phantom.truth["rois"])
    times["membranes"] = len(phantom.truth["membranes"])
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="tomograms per kind (default 3)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "synth.json")
    args = parser.parse_args()
    params = PhantomParameters(shape=(128, 256, 256), voxel_size=10.0)
    fft_seconds = min(_fft_reference(params.shape) for _ in range(3))
    rows = []
    for kind in ("contacts", "invaginations"):
        for index in range(args.repeats):
            rows.append({"kind": kind, "index": index, **_stages(kind, index, params)})
    print(f"phantom generation, {params.shape[2]}x{params.shape[1]}x{params.shape[0]} voxels at "
          f"{params.voxel_size:g} Å, {os.cpu_count()} cores; FFT round-trip reference {fft_seconds:.3f} s")
    print(f"{'kind':<15}{'#':>3}{'layout s':>10}{'render s':>10}{'imaging s':>11}{'total s':>9}{'x FFT':>8}"
          f"{'ROIs':>6}{'membranes':>11}")
    for r in rows:
        print(f"{r['kind']:<15}{r['index']:>3}{r['layout']:>10.2f}{r['render']:>10.2f}{r['imaging']:>11.2f}"
              f"{r['total']:>9.2f}{r['total'] / fft_seconds:>8.1f}{r['rois']:>6}{r['membranes']:>11}")
    worst = max(r["total"] for r in rows)
    print(f"worst total {worst:.2f} s (target < 10 s): {'PASS' if worst < 10 else 'FAIL'}")
    write_result(args.out, {"shape_zyx": list(params.shape), "voxel_size_A": params.voxel_size,
                                    "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
                                    "fft_reference_s": fft_seconds, "rows": rows, "worst_total_s": worst,
                                    "target_s": 10.0, "pass": worst < 10})


if __name__ == "__main__":
    main()
