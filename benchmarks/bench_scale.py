"""Benchmark: time and peak memory of every SurfORA CLI stage on a large, sparse membrane label map.

The label map is a tomogram-sized grid (default 1000 × 1000 × 300 voxels of 1 nm) holding phantom-like
membranes: label 1 is vesicles plus a wavy sheet, label 2 tubes, one of them close to a vesicle (a contact),
each ~300k voxels. The whole volume is one ROI, as a user with a whole-cell segmentation runs it. Every
stage runs as its own process (`tomorois-surfora surface …`, `measure …`); its wall time and peak resident
memory (from the kernel's rusage of that process) are reported, with the points or faces it produced.

``--reference-size`` runs the same membranes in a smaller grid first: the ratio of the two peak memories says
whether memory follows the membrane (≈ 1) or the volume (≈ the voxel ratio).

    .venv/bin/python benchmarks/bench_scale.py [--size 1000 1000 300] [--reference-size 400 400 300] [--out scale.json]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from results_json import write_result

ROOT = Path(__file__).resolve().parent.parent
ENGINE = [sys.executable, "-m", "tomorois_surfora.engine"]
THICKNESS = 4.0  # voxels
VOXEL_A = 10.0


def shell(volume, label, centre, radius, distance_of):
    """Set ``label`` where ``distance_of(z, y, x)`` (voxel grids of the shape's box) is within half a
    thickness of ``radius``; the box is cut to the volume."""
    reach = radius + THICKNESS
    lo = [max(0, int(np.floor(c - reach))) for c in centre]
    hi = [min(n, int(np.ceil(c + reach)) + 1) for c, n in zip(centre, volume.shape)]
    z, y, x = np.ogrid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    inside = np.abs(distance_of(z, y, x) - radius) < THICKNESS / 2
    box = volume[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    box[inside & (box == 0)] = label


def membranes(shape, seed=0):
    """The benchmark's label map (int8, z y x): vesicles + a wavy sheet (1), tubes (2), placed in the
    middle 400 × 400 voxels of the plane so the same membranes fit every grid at least that large."""
    volume = np.zeros(shape, dtype=np.int8)
    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    cy, cx, cz = ny // 2, nx // 2, nz // 2
    centres = []
    while len(centres) < 10:
        c = (cz + rng.uniform(-90, 90) if nz > 220 else cz, cy + rng.uniform(-170, 170), cx + rng.uniform(-170, 170))
        if all(np.linalg.norm(np.subtract(c, o)) > 60 for o in centres) and abs(c[1] - cy) > 30:
            centres.append(c)
    for c in centres:
        shell(volume, 1, c, 20.0, lambda z, y, x, c=c: np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2))
    # a wavy sheet: z = cz + 8 sin(x / 15), 160 × 160 voxels, one of the two ends of the central band
    sheet_x = np.arange(cx - 80, cx + 80)
    for y in range(cy - 190, cy - 30):
        for x in sheet_x:
            z0 = cz + 8 * np.sin(x / 15.0)
            lo, hi = int(np.ceil(z0 - THICKNESS / 2)), int(np.floor(z0 + THICKNESS / 2))
            volume[lo:hi + 1, y, x][volume[lo:hi + 1, y, x] == 0] = 1
    # tubes along x, radius 10, length 300; the first runs 12 voxels (membrane centre to centre: 42) from a vesicle
    near = centres[0]
    tube_axes = [(near[0], near[1] + 20 + 12 + 10)] + [(cz + dz, cy + dy) for dz, dy in ((40, 120), (-40, 60), (0, 180))]
    x0 = max(0, cx - 150)
    for tz, ty in tube_axes:
        lo_z, lo_y = int(tz - 10 - THICKNESS), int(ty - 10 - THICKNESS)
        z, y = np.ogrid[lo_z:lo_z + 29, lo_y:lo_y + 29]
        ring = np.abs(np.sqrt((z - tz) ** 2 + (y - ty) ** 2) - 10.0) < THICKNESS / 2
        box = volume[lo_z:lo_z + 29, lo_y:lo_y + 29, x0:x0 + 300]
        box[ring[:, :, None] & (box == 0)] = 2
    return volume


def status_kib(pid, key):
    """A field of /proc/<pid>/status in KiB (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith(key + ":")), 0)
    except OSError:
        return 0


def run_stage(name, command, log):
    """Run one CLI stage as its own process; returns (seconds, peak RSS, peak private RSS (MiB), exit code).

    The peak RSS is the kernel's (rusage); it counts pages of memory-mapped files (the input and output
    volumes), which the kernel drops under pressure. The private (anonymous) part is sampled every 0.1 s.
    """
    start = time.perf_counter()
    with open(log, "a") as stream:
        stream.write(f"\n$ {' '.join(map(str, command))}\n")
        stream.flush()
        process = subprocess.Popen([str(c) for c in command], stdout=stream, stderr=stream, cwd=ROOT)
        private = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            private = max(private, status_kib(process.pid, "RssAnon"))
            time.sleep(0.1)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    peak, private = usage.ru_maxrss / 1024, private / 1024
    print(f"  {name:<20}{seconds:>8.1f} s{peak:>9.0f} MiB ({private:.0f} private)  rc {code}", flush=True)
    return seconds, peak, private, code


def build(path, shape):
    """Write the label map; returns its voxel count per label."""
    from tomorois_surfora.engine.io import write_mrc

    volume = membranes(shape)
    write_mrc(path, volume, VOXEL_A)
    return {int(v): int(n) for v, n in zip(*np.unique(volume, return_counts=True)) if v}


def chain(work, shape):
    """Build the label map at ``shape`` and run every stage; returns the table rows.

    A child's peak memory, as the kernel reports it, starts from its parent's resident size at the fork, so
    the label map is built in a child process and outputs are read only after every stage has run: this
    process stays at a few tens of MiB.
    """
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    labels = work / "cell.mrc"
    counts_file = work / "counts.json"
    subprocess.run([sys.executable, __file__, "--build", str(labels), "--size", *map(str, shape[::-1]),
                    "--counts", str(counts_file)],
                   check=True, cwd=ROOT)
    counts = {int(k): v for k, v in json.loads(counts_file.read_text()).items()}
    print(f"{shape[2]}×{shape[1]}×{shape[0]} voxels, membrane voxels per label {counts}", flush=True)
    log = work / "stages.log"
    crop, cloud = work / "crops" / "cell_roi1.mrc", work / "clouds" / "cell_roi1_medial.ply"
    oriented, mesh = work / "oriented" / "cell_roi1_medial_oriented.ply", work / "meshes" / "cell_roi1_medial_oriented_mesh.vtp"
    stages = [
        ("surface restrict", ["surface", "restrict", labels, "--out", work / "crops"], None),
        ("surface extract", ["surface", "extract", crop, "--out", work / "clouds"], ("points", cloud)),
        ("surface orient", ["surface", "orient", cloud, "--out", work / "oriented"], ("points", oriented)),
        ("surface mesh", ["surface", "mesh", oriented, "--masks", crop, "--out", work / "meshes"], ("faces", mesh)),
        ("measure distance", ["measure", "distance", mesh, "--out", work / "measure"], None),
        ("measure curvature", ["measure", "curvature", mesh, "--out", work / "measure"], None),
    ]
    rows = []
    for name, arguments, produced in stages:
        seconds, rss, private, code = run_stage(name, ENGINE + arguments, log)
        rows.append({"stage": name, "grid": list(shape[::-1]), "voxels": int(np.prod(shape)),
                     "membrane_voxels": sum(counts.values()), "seconds": seconds, "peak_rss_MiB": rss,
                     "peak_private_MiB": private,
                     "exit_code": code, "output": "" if code == 0 else "failed", "produced": produced})
        if code != 0:
            print(f"  {name} failed; see {log}")
            break
    from tomorois_surfora.engine.io import read_ply, read_vtp

    for row in rows:
        kind, path = row.pop("produced") or (None, None)
        if kind == "points" and row["exit_code"] == 0:
            row["output"] = f"{len(read_ply(path).points)} points"
        elif kind == "faces" and row["exit_code"] == 0:
            row["output"] = f"{len(read_vtp(path).faces)} faces"
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=3, default=[1000, 1000, 300], metavar=("X", "Y", "Z"))
    parser.add_argument("--reference-size", type=int, nargs=3, metavar=("X", "Y", "Z"),
                        help="also run the same membranes in this (smaller) grid first")
    parser.add_argument("--work", type=Path, default=ROOT / "bench_scale_work")
    parser.add_argument("--out", default="scale.json")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--counts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:  # the child that writes the label map (see chain)
        args.counts.write_text(json.dumps(build(args.build, tuple(args.size[::-1]))))
        return
    sizes = ([args.reference_size] if args.reference_size else []) + [args.size]
    runs = [chain(args.work / "x".join(map(str, size)), tuple(size[::-1])) for size in sizes]
    print(f"\nmembranes: vesicles + a wavy sheet (label 1), tubes (label 2), {VOXEL_A / 10:g} nm voxels; "
          "whole volume as one ROI; default settings")
    print(f"\n{'stage':<20}{'grid':>16}{'voxels':>9}{'seconds':>9}{'peak MiB':>10}{'private':>9}  output")
    for rows in runs:
        for r in rows:
            print(f"{r['stage']:<20}{'×'.join(map(str, r['grid'])):>16}{r['voxels'] / 1e6:>8.0f}M{r['seconds']:>9.1f}"
                  f"{r['peak_rss_MiB']:>10.0f}{r['peak_private_MiB']:>9.0f}  {r['output']}")
    payload = {"runs": runs}
    if len(runs) == 2:
        payload["rss_ratio"] = {a["stage"]: b["peak_rss_MiB"] / a["peak_rss_MiB"] for a, b in zip(*runs)}
        payload["private_ratio"] = {a["stage"]: b["peak_private_MiB"] / a["peak_private_MiB"] for a, b in zip(*runs)}
        for key, what in (("rss_ratio", "peak memory"), ("private_ratio", "private memory")):
            print(f"{what}, full grid / reference grid ({runs[1][0]['voxels'] / runs[0][0]['voxels']:.2f}× the voxels): "
                  + ", ".join(f"{k} {v:.2f}" for k, v in payload[key].items()))
    write_result(args.out, payload)


if __name__ == "__main__":
    main()
