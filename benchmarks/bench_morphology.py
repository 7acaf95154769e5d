"""Benchmark the ball opening and closing of ROI extraction: object by object against scipy on the whole volume.

    .venv/bin/python benchmarks/bench_morphology.py                       # a 128×512×512 contacts phantom
    .venv/bin/python benchmarks/bench_morphology.py --shape 128 256 256 --radii 2 5

The mask is a phantom's ROIs, decoys and membranes together (sparse blobs and thin shells, like a thresholded
probability map with false positives along membranes). Both ways run in this process, one after the other,
and must give the same voxels. Prints a table and writes benchmarks/results/morphology.json.
"""
import argparse
import time

import numpy as np
from results_json import write_result
from scipy import ndimage

from tomorois_surfora.engine.morphology import ball, ball_closing, ball_opening
from tomorois_surfora.engine.synth.dataset import PhantomParameters, generate_phantom


def whole_volume(mask, radius, operation):
    """scipy's operation with the ball over the whole mask padded with empty space (the former way)."""
    structure = ball(radius)
    pad = structure.shape[0]
    return operation(np.pad(mask, pad), structure=structure)[pad:-pad, pad:-pad, pad:-pad]


def _seconds(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[128, 512, 512], metavar=("Z", "Y", "X"))
    parser.add_argument("--radii", type=float, nargs="+", default=[2.0, 5.0], help="ball radii in voxels")
    args = parser.parse_args()
    phantom = generate_phantom("contacts", seed=0, index=0, params=PhantomParameters(shape=tuple(args.shape)))
    mask = (phantom.rois > 0) | (phantom.decoys > 0) | (phantom.membranes > 0)
    print(f"mask {mask.shape}: {ndimage.label(mask)[1]} components, {100 * mask.mean():.2f}% of the voxels")
    print(f"{'operation':>10}{'radius':>8}{'scipy s':>10}{'per object s':>14}{'speed-up':>10}{'same':>6}")
    rows = []
    for radius in args.radii:
        for name, ours, theirs in (("opening", ball_opening, ndimage.binary_opening),
                                   ("closing", ball_closing, ndimage.binary_closing)):
            reference_s, reference = _seconds(whole_volume, mask, radius, theirs)
            ours_s, result = _seconds(ours, mask, radius)
            same = bool(np.array_equal(result, reference))
            rows.append({"operation": name, "radius_voxels": radius, "scipy_whole_volume_s": reference_s,
                         "per_object_s": ours_s, "speed_up": reference_s / ours_s, "identical": same})
            print(f"{name:>10}{radius:>8g}{reference_s:>10.2f}{ours_s:>14.2f}{reference_s / ours_s:>10.1f}"
                  f"{'yes' if same else 'NO':>6}")
    write_result("morphology.json", {"shape": list(mask.shape), "mask_fraction": float(mask.mean()), "rows": rows})
    if not all(row["identical"] for row in rows):
        raise SystemExit("the per-object result differs from scipy's")


if __name__ == "__main__":
    main()
