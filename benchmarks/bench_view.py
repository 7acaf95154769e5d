"""Benchmark what a person waits for in the viewers: contrast, re-extraction in the field in view, selection.

    .venv/bin/python benchmarks/bench_view.py                          # a 128×1024×1024 contacts phantom
    .venv/bin/python benchmarks/bench_view.py --shape 128 512 512 --field 256

- contrast: the robust percentiles napari's tomogram layer starts from, on the strided sample, against
  numpy's percentiles over every voxel (same process);
- re-extraction: the curation widget's *Re-extract ROIs* on the field in view (all sections × FIELD × FIELD
  voxels) against the whole volume, from a probability map that is the phantom's ROIs blurred plus noise;
- selection: projecting a cloud with the camera and testing it against a drawn polygon (the PyVista
  curator's lasso), for 100k and 1M points.

Prints a table and writes benchmarks/results/view.json.
"""
import argparse
import time

import numpy as np
from results_json import write_result
from scipy import ndimage

from tomorois_surfora.engine.roi.extract import ExtractionParameters
from tomorois_surfora.engine.synth.dataset import PhantomParameters, generate_phantom
from tomorois_surfora.engine.view.cloud_edits import inside_polygon, project_to_display
from tomorois_surfora.engine.view.contrast import robust_limits
from tomorois_surfora.engine.view.roi_edits import reextract_region


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def contrast(tomogram):
    fast, limits = _timed(robust_limits, tomogram)
    full, exact = _timed(lambda: tuple(float(v) for v in np.percentile(tomogram, [0.5, 99.5])))
    spread = exact[1] - exact[0]
    return {"strided_s": fast, "every_voxel_s": full, "speed_up": full / fast,
            "limit_error_of_range": max(abs(a - b) for a, b in zip(limits, exact)) / spread}


def reextraction(probabilities, voxel_size, field):
    labels = np.zeros(probabilities.shape, np.int32)
    params = ExtractionParameters()
    z, y, x = probabilities.shape
    y0, x0 = (y - field) // 2, (x - field) // 2
    region = (slice(None), slice(y0, y0 + field), slice(x0, x0 + field))
    in_view, _ = _timed(reextract_region, labels, probabilities, voxel_size, params, region)
    whole, result = _timed(reextract_region, labels, probabilities, voxel_size, params)
    return {"field_voxels": [z, field, field], "field_s": in_view, "whole_s": whole, "ratio": whole / in_view,
            "rois_whole": int(len(np.unique(result)) - 1)}


def selection(n, seed=0):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, 3)) * 50
    angle = 0.3
    view = np.array([[np.cos(angle), 0, np.sin(angle), 0], [0, 1, 0, 0], [0, 0, 0.01, 0],
                     [0, 0, 0.001, 1]]) / 100  # a perspective-like matrix: w varies with z
    polygon = [(300, 200), (700, 220), (650, 600), (350, 560), (250, 400)]
    seconds, inside = _timed(lambda: inside_polygon(project_to_display(points, view, (1000, 800)), polygon))
    return {"points": n, "seconds": seconds, "selected": int(inside.sum())}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=3, default=[128, 1024, 1024], metavar=("Z", "Y", "X"))
    parser.add_argument("--field", type=int, default=256, help="side of the field in view, voxels (default 256)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    params = PhantomParameters(shape=tuple(args.shape))
    phantom = generate_phantom("contacts", args.seed, 0, params)
    tomogram = phantom.tomogram.astype(np.float32)
    rng = np.random.default_rng(args.seed)
    blurred = ndimage.gaussian_filter((phantom.rois > 0).astype(np.float32), 2.0)
    probabilities = np.clip(blurred + rng.normal(0, 0.05, blurred.shape).astype(np.float32), 0, 1)
    result = {"shape": list(args.shape), "voxel_size_A": params.voxel_size,
              "contrast": contrast(tomogram),
              "reextraction": reextraction(probabilities, params.voxel_size, args.field),
              "selection": [selection(n) for n in (100_000, 1_000_000)]}
    c, r = result["contrast"], result["reextraction"]
    print(f"{'what':44s} {'seconds':>8s}  note")
    print(f"{'contrast, strided sample':44s} {c['strided_s']:8.2f}  {c['speed_up']:.0f}× faster than every voxel "
          f"({c['every_voxel_s']:.2f} s), limits within {100 * c['limit_error_of_range']:.2f}% of the range")
    print(f"{'re-extract, field in view ' + '×'.join(map(str, r['field_voxels'])):44s} {r['field_s']:8.2f}  "
          f"whole volume {r['whole_s']:.2f} s ({r['ratio']:.1f}×), {r['rois_whole']} ROIs")
    for s in result["selection"]:
        print(f"{'polygon selection, ' + format(s['points'], ',') + ' points':44s} {s['seconds']:8.3f}")
    write_result("view.json", result)


if __name__ == "__main__":
    main()
