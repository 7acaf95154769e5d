"""Benchmark SurfORA on segmentation-like masks: thin (1–2 voxels), rough, staircase.

    .venv/bin/python benchmarks/bench_thin_masks.py chain      # phantom family + ../shared/data/pycurv

The default chain (`medial` cloud → oriented normals → gap-aware mesh against the mask → multi-scale
curvature) runs on analytic shapes voxelised thin with rough faces (``AnalyticShape.rough_mask``: seeds,
sizes and voxel sizes that the defaults were not tuned on) and on the two PyCurv label maps. Per case:

- stray points: medial points farther than 2 voxels from every mask voxel (target 0);
- boundary vertices: share of mesh vertices on a boundary edge (target < 2% on closed membranes);
- curvature coverage: share of vertices with a curvature value (target ≥ 90%);
- Gauss–Bonnet: ∫K dA over the vertices with a value, scaled to the whole area, against 4π for a sphere and
  0 for a torus (target within 10% of 4π on closed vesicles); mean H against 1/R for spheres;
- and on thin rough hairpins (gaps of 2–3 voxels), the faces that join the two arms (target 0).

Writes benchmarks/results/thin_masks_chain.json.
"""
import sys
import time
from pathlib import Path

import numpy as np
from results_json import run_section, write_result
from scipy.spatial import cKDTree

from tomorois_surfora.engine.measure.curvature import mesh_curvature
from tomorois_surfora.engine.measure.geodesic import vertex_areas
from tomorois_surfora.engine.surface.medial import voxel_centres_nm
from tomorois_surfora.engine.surface.mesh import ball_pivot
from tomorois_surfora.engine.surface.pipeline import crop_to_mesh
from tomorois_surfora.engine.synth import shapes
from tomorois_surfora.engine.triangles import mesh_edges

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pycurv"
TARGETS = {"stray_points": 0, "boundary_vertex_fraction_closed": 0.02, "curvature_coverage": 0.90,
           "gauss_bonnet_relative_error_vesicle": 0.10}

# (shape, voxel nm, roughness nm, seed); thickness 3 nm = 1.25–2 voxels
PHANTOMS = [(shapes.sphere(15.0, 3.0), 1.6, 0.5, 11), (shapes.sphere(25.0, 3.0), 2.0, 0.6, 12),
            (shapes.sphere(35.0, 3.0), 2.4, 0.8, 13), (shapes.sphere(25.0, 3.0), 1.5, 0.3, 14),
            (shapes.torus(25.0, 10.0, 3.0), 1.8, 0.5, 15), (shapes.cylinder(15.0, 60.0, 3.0), 2.0, 0.5, 16),
            (shapes.invaginated_vesicle(30.0, 12.0, 3.0), 2.0, 0.5, 17)]


def score_chain(labels, voxel_size_nm, origin_nm, name, closed_label=None, truth=None):
    """Run the chain on one label map; one row per membrane label."""
    start = time.perf_counter()
    points, normals, labels_per_point, faces, info = crop_to_mesh(labels, voxel_size_nm, origin_nm=origin_nm,
                                                                  convention="outward", source=name)
    values, _ = mesh_curvature(points, faces, normals)
    seconds = time.perf_counter() - start
    H, K = values["mean_curvature"], values["gaussian_curvature"]
    areas = vertex_areas(points, faces)
    edges, counts, _ = mesh_edges(faces)
    on_boundary = np.zeros(len(points), dtype=bool)
    on_boundary[edges[counts == 1].ravel()] = True
    rows = []
    for label in np.unique(labels_per_point):
        mine = labels_per_point == label
        support = voxel_centres_nm(labels == label, voxel_size_nm, origin_nm)
        off = cKDTree(support).query(points[mine])[0] / voxel_size_nm
        valued = mine & np.isfinite(K)
        integral = float(np.sum(K[valued] * areas[valued]) * areas[mine].sum() / max(areas[valued].sum(), 1e-12))
        row = {"case": name, "label": int(label), "voxel_nm": voxel_size_nm, "points": int(mine.sum()),
               "stray_points": int((off > 2).sum()), "farthest_voxels": float(off.max()),
               "boundary_vertex_fraction": float(on_boundary[mine].mean()),
               "faces_per_vertex": float(np.isin(faces, np.flatnonzero(mine)).all(axis=1).sum() / mine.sum()),
               "curvature_coverage": float(valued.sum() / mine.sum()),
               "integral_K_over_4pi": integral / (4 * np.pi), "closed": bool(closed_label),
               "holes_filled": int(info["mesh"][int(label)]["holes_filled"]), "seconds": seconds}
        if truth is not None:
            row["mean_H_relative_error"] = float(np.nanmean(np.abs(H[valued] - truth)) / truth)
        rows.append(row)
        print_row(row)
    return rows


def print_row(row):
    extra = f"  |H-1/R| {row['mean_H_relative_error'] * 100:.1f}%" if "mean_H_relative_error" in row else ""
    print(f"{row['case']:<34} {row['points']:>6} pts  stray {row['stray_points']:>3} (max {row['farthest_voxels']:.1f} "
          f"vox)  boundary {row['boundary_vertex_fraction'] * 100:5.1f}%  f/v {row['faces_per_vertex']:.2f}  "
          f"curvature {row['curvature_coverage'] * 100:5.1f}%  ∫K/4π {row['integral_K_over_4pi']:+.3f}{extra}  "
          f"{row['seconds']:.1f} s")


def fold_bridges():
    """Thin rough hairpins: faces joining the two arms (x > 2 nm, one vertex above z = 0, one below)."""
    rows = []
    for gap, voxel, seed in ((3.0, 1.5, 21), (4.0, 1.5, 22), (4.0, 2.0, 23), (6.0, 2.0, 24)):
        shape = shapes.hairpin(gap, length=40.0, width=30.0, thickness=3.0)
        mask, origin = shape.rough_mask(voxel, 0.3 * voxel, seed=seed)
        points, normals, _, faces, info = crop_to_mesh(mask.astype(np.int8), voxel, origin_nm=origin,
                                                       convention="outward")
        arm = np.where(points[:, 0] > 2.0, np.sign(points[:, 2]), 0)

        def bridges(f):
            return int(((arm[f] > 0).any(axis=1) & (arm[f] < 0).any(axis=1)).sum())
        pivoted = ball_pivot(points, normals, info["mesh"][1]["radii_nm"])
        rows.append({"gap_nm": gap, "voxel_nm": voxel, "faces": int(len(faces)),
                     "ball_pivoting_bridges": bridges(pivoted), "bridging_faces": bridges(faces)})
        print(f"rough thin hairpin, gap {gap:g} nm at {voxel:g} nm voxels: ball pivoting joins the arms with "
              f"{bridges(pivoted)} faces, the mesh with {bridges(faces)} (of {len(faces)})")
    return rows


def chain(args):
    rows = []
    for shape, voxel, roughness, seed in PHANTOMS:
        mask, origin = shape.rough_mask(voxel, roughness, seed=seed)
        name = f"{shape.name} t3 @{voxel:g} nm ±{roughness:g}"
        truth = 1.0 / float(shape.name.split("_r")[1]) if shape.name.startswith("sphere") else None
        rows += score_chain(mask.astype(np.int8), voxel, origin, name, closed_label=shape.closed, truth=truth)
    if SHARED.is_dir():
        from tomorois_surfora.engine.io import read_mrc
        from tomorois_surfora.engine.surface.restrict import restrict_to_rois

        labels, voxel_size = read_mrc(SHARED / "er_pm_contact_labels.mrc", voxel_size=13.68)
        items, _ = restrict_to_rois(labels, None, voxel_size / 10, wanted_labels=[1, 2])
        rows += score_chain(items[0].labels, voxel_size / 10, (0.0, 0.0, 0.0), "pycurv ER–PM crop (open)")
        labels, voxel_size = read_mrc(SHARED / "vesicle_labels.mrc", voxel_size=25.26)
        rows += score_chain((labels == 1).astype(np.int8), voxel_size / 10, (0.0, 0.0, 0.0),
                            "pycurv vesicle (open at the poles)")
    else:
        print(f"{SHARED} is absent: the PyCurv cases are skipped", file=sys.stderr)
    folds = fold_bridges()
    closed = [r for r in rows if r["closed"]]
    spheres = [r for r in closed if r["case"].startswith(("sphere", "invaginated"))]
    summary = {"stray_points_total": sum(r["stray_points"] for r in rows),
               "worst_boundary_fraction_closed": max(r["boundary_vertex_fraction"] for r in closed),
               "worst_curvature_coverage_closed": min(r["curvature_coverage"] for r in closed),
               "worst_gauss_bonnet_error_vesicles": max(abs(r["integral_K_over_4pi"] - 1) for r in spheres),
               "torus_integral_K_over_4pi": [r["integral_K_over_4pi"] for r in closed if "torus" in r["case"]][0],
               "fold_bridging_faces": sum(r["bridging_faces"] for r in folds)}
    print("\n" + "  ".join(f"{k} {v:.3g}" for k, v in summary.items()) + f"   targets {TARGETS}")
    write_result("thin_masks_chain.json", {"rows": rows, "folds": folds, "summary": summary, "targets": TARGETS})


SECTIONS = {"chain": chain}


if __name__ == "__main__":
    run_section(__doc__, SECTIONS)
