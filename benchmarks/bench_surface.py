"""Benchmark SurfORA part 1: surfaces and normal orientation against analytic truth and Open3D.

    .venv/bin/python benchmarks/bench_surface.py accuracy     # analytic masks at 1 nm voxels
    .venv/bin/python benchmarks/bench_surface.py speed        # 100k-point clouds oriented, both methods + Open3D
    .venv/bin/python benchmarks/bench_surface.py real         # ER–plasma-membrane contact (../shared/data)
    .venv/bin/python benchmarks/bench_surface.py mesh         # gap-aware ball pivoting: bridges and area
    .venv/bin/python benchmarks/bench_surface.py folds        # noisy folded clouds, PCA / JET normals
    .venv/bin/python benchmarks/bench_surface.py offsets      # medial offset on curved shells vs the grid

Each section prints a table and writes benchmarks/results/surface_<section>.json. Orientation is scored on
clouds whose normal signs were randomly flipped: the fraction of points whose normal agrees with the true
consistent normal field, up to one global sign per connected true surface (closed analytic shapes are also
scored strictly against the outward normal).
"""
import sys
import time
from pathlib import Path

import numpy as np
from bench_measure import GRID_OFFSETS
from results_json import run_section, write_result
from scipy.spatial import cKDTree

from tomorois_surfora.engine.surface.iso import isosurface
from tomorois_surfora.engine.triangles import mesh_components
from tomorois_surfora.engine.surface.medial import medial_surface
from tomorois_surfora.engine.surface.orient import OrientParameters, orient_normals
from tomorois_surfora.engine.synth import shapes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pycurv"
ACCURACY_DRAWS = 3  # random sign flips per cloud; the tables give the worst
TARGETS = {"oriented_fraction": 0.995, "medial_median_voxels": 0.25, "orient_100k_seconds": 30.0}


def consistent_fraction(normals, truth_normals, parts):
    """Fraction of normals agreeing with the truth, one free global sign per part."""
    dots = np.sum(normals * truth_normals, axis=1)
    good = sum(max(int((dots[parts == p] > 0).sum()), int((dots[parts == p] < 0).sum())) for p in np.unique(parts))
    return good / len(normals)


def open3d_orient(points, normals, k):
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.normals = o3d.utility.Vector3dVector(normals)
    start = time.perf_counter()
    cloud.orient_normals_consistent_tangent_plane(k)
    return np.asarray(cloud.normals), time.perf_counter() - start


def score_orientations(points, normals, truth, parts, rng, k=12, draws=1):
    """Flip signs at random, orient with both methods and Open3D; fraction correct and seconds for each.

    With ``draws`` > 1 the signs are drawn that many times: ``fraction`` is the worst draw, ``mean`` the mean
    and ``seconds`` the mean time (a method that used the input signs would vary between draws)."""
    row = {}
    for _ in range(draws):
        flipped = normals * rng.choice([-1.0, 1.0], len(normals))[:, None]
        for method in ("geodesic", "dipole", "open3d"):
            start = time.perf_counter()
            if method == "open3d":
                oriented, seconds = open3d_orient(points, flipped, k)
            else:
                oriented, _ = orient_normals(points, flipped, OrientParameters(method=method, convention="none",
                                                                                neighbours=k))
                seconds = time.perf_counter() - start
            row.setdefault(method, []).append((consistent_fraction(oriented, truth, parts), seconds))
    return {method: {"fraction": min(f for f, _ in runs), "mean": float(np.mean([f for f, _ in runs])),
                     "seconds": float(np.mean([t for _, t in runs])), "draws": draws}
            for method, runs in row.items()}


def iso_parts(mesh, points):
    """Connected surface of each resampled iso point (the marching-cubes mesh's components)."""
    vertices, faces = mesh
    component = mesh_components(len(vertices), faces)
    _, nearest = cKDTree(vertices).query(points)
    return component[nearest]


def accuracy(args):
    rows = []
    for number, shape in enumerate(shapes.benchmark_shapes()):
        # a generator per shape: one shape's point count must not change another's sign draws
        rng = np.random.default_rng([0, number])
        mask, origin = shape.mask(1.0)
        truth_points, truth_normals, truth_parts = shape.truth(0.1)
        tree = cKDTree(truth_points)
        start = time.perf_counter()
        points, normals, info = medial_surface(mask, 1.0, origin_nm=origin)
        medial_seconds = time.perf_counter() - start
        distance, nearest = tree.query(points)
        row = {"shape": shape.name, "mask_voxels": int(mask.sum()), "medial_points": len(points),
               "medial_seconds": medial_seconds, "medial_median_nm": float(np.median(distance)),
               "medial_p95_nm": float(np.percentile(distance, 95)),
               "medial_orientation": score_orientations(points, normals, truth_normals[nearest],
                                                        truth_parts[nearest], rng, draws=ACCURACY_DRAWS)}
        if shape.closed:
            oriented, _ = orient_normals(points, normals, OrientParameters(convention="outward"))
            row["medial_outward_fraction"] = float(np.mean(np.sum(oriented * truth_normals[nearest], 1) > 0))
        start = time.perf_counter()
        iso_points, iso_normals, mesh = isosurface(mask, 1.0, origin_nm=origin)
        row["iso_seconds"] = time.perf_counter() - start
        row["iso_points"] = len(iso_points)
        if shape.name.startswith("sphere"):
            radius = np.linalg.norm(iso_points, axis=1)
            r_mid = float(shape.name.split("_r")[1])
            outer, inner = radius[radius > r_mid], radius[radius < r_mid]
            half = 0.5 * shape.thickness_nm
            row["iso_outer_radius_error"] = float(np.mean(outer) - (r_mid + half)) / (r_mid + half)
            row["iso_inner_radius_error"] = float(np.mean(inner) - (r_mid - half)) / (r_mid - half)
        row["iso_orientation"] = score_orientations(iso_points, iso_normals, iso_normals,
                                                    iso_parts(mesh, iso_points), rng, draws=ACCURACY_DRAWS)
        rows.append(row)
        print_row(row)
    worst = {m: min(min(r["medial_orientation"][m]["fraction"], r["iso_orientation"][m]["fraction"]) for r in rows)
             for m in ("geodesic", "dipole", "open3d")}
    print(f"\nworst oriented fraction over every case: {worst}  (target ≥ {TARGETS['oriented_fraction']})")
    write_result("surface_accuracy.json", {"rows": rows, "worst_oriented_fraction": worst, "targets": TARGETS})


def print_row(row):
    def f(entry):
        return f"{entry['fraction'] * 100:6.2f}%/{entry['seconds']:4.1f}s"
    iso_error = ""
    if "iso_outer_radius_error" in row:
        iso_error = f"  iso radius err outer {row['iso_outer_radius_error'] * 100:+.2f}% " \
                    f"inner {row['iso_inner_radius_error'] * 100:+.2f}%"
    print(f"{row['shape']:<20} medial {row['medial_points']:>6} pts {row['medial_seconds']:5.1f}s "
          f"median {row['medial_median_nm']:.3f} p95 {row['medial_p95_nm']:.3f} nm{iso_error}")
    for kind in ("medial", "iso"):
        o = row[f"{kind}_orientation"]
        print(f"{'':<20} {kind:>6} orientation  geodesic {f(o['geodesic'])}  dipole {f(o['dipole'])}  "
              f"open3d {f(o['open3d'])}")


def speed(args):
    rng = np.random.default_rng(1)
    shape = shapes.sphere(89.0)
    points, normals, _ = shape.truth(1.0)
    points = points + rng.normal(0, 0.1, points.shape)
    row = {"case": f"sphere r=89 nm, {len(points)} points, 0.1 nm noise",
           **score_orientations(points, normals, normals, np.zeros(len(points), dtype=int), rng)}
    hairpin = shapes.hairpin(3.0, length=150.0, width=150.0)
    mask, origin = hairpin.mask(1.0)
    start = time.perf_counter()
    iso_points, iso_normals, mesh = isosurface(mask, 1.0, origin_nm=origin)
    iso_seconds = time.perf_counter() - start
    row2 = {"case": f"hairpin (3 nm gap) isosurface, {len(iso_points)} points", "iso_seconds": iso_seconds,
            **score_orientations(iso_points, iso_normals, iso_normals, iso_parts(mesh, iso_points), rng)}
    for r in (row, row2):
        print(f"{r['case']}: " + "  ".join(f"{m} {r[m]['fraction'] * 100:.2f}% in {r[m]['seconds']:.1f} s"
                                           for m in ("geodesic", "dipole", "open3d")))
    write_result("surface_speed.json", {"rows": [row, row2], "cores": 2, "targets": TARGETS})


def real(args):
    from tomorois_surfora.engine.io import read_mrc
    from tomorois_surfora.engine.surface.extract import extract_cloud
    from tomorois_surfora.engine.surface.restrict import restrict_to_rois

    path = SHARED / "er_pm_contact_labels.mrc"
    if not path.is_file():
        sys.exit(f"{path} is absent: skipping the real-data section")
    labels, voxel_size = read_mrc(path, voxel_size=13.68)  # the header says 10 Å; data/README.md gives 13.68
    items, _ = restrict_to_rois(labels, None, voxel_size / 10, wanted_labels=[1, 2])
    report = {}
    for method in ("medial", "iso"):
        start = time.perf_counter()
        points, normals, label, _ = extract_cloud(items[0].labels, voxel_size / 10, method)
        oriented, info = orient_normals(points, normals, OrientParameters(convention="partner"), label)
        seconds = time.perf_counter() - start
        row = {"seconds": seconds, "pieces": info["pieces"]}
        for value, name in ((1, "plasma_membrane"), (2, "er_membrane")):
            mine, other = label == value, label != value
            distance, nearest = cKDTree(points[other]).query(points[mine])
            toward = np.sum(oriented[mine] * (points[other][nearest] - points[mine]), axis=1) > 0
            facing = distance <= np.percentile(distance, 25)
            row[name] = {"points": int(mine.sum()), "toward_partner_facing_quarter": float(toward[facing].mean()),
                         "median_distance_nm": float(np.median(distance))}
        report[method] = row
        print(f"{method:>6}: {row['plasma_membrane']['points']} PM + {row['er_membrane']['points']} ER points in "
              f"{seconds:.1f} s; normals toward the partner on the facing quarter: PM "
              f"{row['plasma_membrane']['toward_partner_facing_quarter'] * 100:.1f}%, ER "
              f"{row['er_membrane']['toward_partner_facing_quarter'] * 100:.1f}%")
    write_result("surface_real.json", report)


def mesh(args):
    from tomorois_surfora.engine.surface.mesh import ball_pivot, mesh_cloud

    bridge_rows = []
    for gap in (2.0, 3.0, 4.0, 6.0):
        shape = shapes.parallel_sheets(gap, size=40.0)
        mask, origin = shape.mask(1.0)
        column = np.flatnonzero(mask[:, mask.shape[1] // 2, mask.shape[2] // 2])
        free_voxels = int(np.max(np.diff(column)) - 1)  # background voxels between the two sheets' masks
        points, normals, _ = isosurface(mask, 1.0, origin_nm=origin)
        upper = (points[:, 2] > 0) & (points[:, 2] < 0.5 * gap + 1)
        lower = (points[:, 2] < 0) & (points[:, 2] > -0.5 * gap - 1)

        def bridges(faces):
            return int((upper[faces].any(axis=1) & lower[faces].any(axis=1)).sum())
        start = time.perf_counter()
        _, faces, info = mesh_cloud(points, normals, support=(mask, origin), voxel_size_nm=1.0)
        seconds = time.perf_counter() - start
        _, cloud_faces, _ = mesh_cloud(points, normals, voxel_size_nm=1.0)
        row = {"gap_nm": gap, "free_voxels_between_masks": free_voxels, "points": len(points),
               "ball_pivoting_bridges": bridges(ball_pivot(points, normals, info["radii_nm"])),
               "bridges_mask_support": bridges(faces), "bridges_cloud_support": bridges(cloud_faces),
               "faces": int(len(faces)), "seconds": seconds}
        bridge_rows.append(row)
        print(f"sheets gap {gap:g} nm ({free_voxels} free voxels): ball pivoting {row['ball_pivoting_bridges']} "
              f"bridging triangles; after the gap filter {row['bridges_mask_support']} (mask support), "
              f"{row['bridges_cloud_support']} (cloud support); {len(faces)} faces in {seconds:.1f} s")
    area_rows = []
    for shape, area in ((shapes.sphere(20.0), 4 * np.pi * 20 ** 2), (shapes.sphere(30.0), 4 * np.pi * 30 ** 2),
                        (shapes.torus(25.0, 10.0), 4 * np.pi ** 2 * 25 * 10),
                        (shapes.cylinder(15.0), 2 * np.pi * 15 * 60)):
        mask, origin = shape.mask(1.0)
        points, normals, _ = medial_surface(mask, 1.0, origin_nm=origin)
        oriented, _ = orient_normals(points, normals)
        start = time.perf_counter()
        _, faces, info = mesh_cloud(points, oriented, support=(mask, origin), voxel_size_nm=1.0)
        row = {"shape": shape.name, "points": len(points), "faces": int(len(faces)), "area_nm2": info["area_nm2"],
               "analytic_nm2": area, "relative_error": info["area_nm2"] / area - 1,
               "seconds": time.perf_counter() - start}
        area_rows.append(row)
        print(f"{shape.name:<16} medial mesh area {info['area_nm2']:.0f} nm² vs {area:.0f} "
              f"({row['relative_error'] * 100:+.2f}%), {len(faces)} faces in {row['seconds']:.1f} s")
    write_result("surface_mesh.json", {"bridges": bridge_rows, "area": area_rows})






def pca_normals(points, k=15):
    """Plain PCA normals over k neighbours: Open3D's estimate_normals, what a user hands us."""
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(k))
    return np.asarray(cloud.normals)


SEEDS = 8


def folds(args):
    """Hairpins sampled as noisy point clouds (1 nm spacing, the arms' mid-surfaces 2–4 spacings apart, fold
    radius half that, about 1,000 points or 4,000 at size 2), normals estimated (PCA over 15 neighbours as Open3D gives them, or our JET), then oriented with
    convention none. Score: fraction agreeing with the true normals up to one global sign; the fold (x below
    the arms' separation) also on its own. Eight seeds per case; the table gives the worst and the mean."""
    from tomorois_surfora.engine.surface.geometry import estimate_normals

    rows = []
    cases = [(gap, noise, 1.0) for gap in (2.0, 3.0, 4.0) for noise in (0.1, 0.2, 0.25, 0.33)]
    cases += [(2.5, 0.2, 1.0), (2.5, 0.33, 1.0), (3.0, 0.33, 2.0)]  # size 2: arms twice as long and wide
    print(f"{'arms apart':>10} {'noise':>6} {'size':>7}  " + "  ".join(f"{k:>22}" for k in (
        "PCA geodesic", "PCA dipole", "PCA Open3D", "JET geodesic", "JET dipole")))
    spacing = 1.0
    for gap, noise, size in cases:
        shape = shapes.hairpin(gap * spacing, length=30.0 * size, width=25.0 * size, thickness=0.0)
        scores = {}
        for seed in range(SEEDS):
            points, truth, _ = shape.noisy_cloud(spacing, noise * spacing, seed=seed)
            fold = points[:, 0] < gap * spacing
            for kind in ("PCA", "JET"):
                estimated = pca_normals(points) if kind == "PCA" else estimate_normals(points)[0]
                methods = ("geodesic", "dipole", "open3d") if kind == "PCA" else ("geodesic", "dipole")
                for method in methods:
                    if method == "open3d":
                        oriented, _ = open3d_orient(points, estimated, 12)
                    else:
                        oriented, _ = orient_normals(points, estimated, OrientParameters(method=method,
                                                                                          convention="none"))
                    agree = np.sum(oriented * truth, axis=1) > 0
                    if agree.mean() < 0.5:
                        agree = ~agree
                    scores.setdefault(f"{kind} {method}", []).append((float(agree.mean()), float(agree[fold].mean())))
        row = {"arms_apart_spacings": gap, "noise_spacings": noise, "size": size, "points": len(points),
               "scores": {k: {"worst": min(a for a, _ in v), "mean": float(np.mean([a for a, _ in v])),
                              "fold_worst": min(f for _, f in v)} for k, v in scores.items()}}
        rows.append(row)
        print(f"{gap:>10g} {noise:>6g} {size:>7g}  " + "  ".join(
            f"{v['worst'] * 100:6.1f}/{v['mean'] * 100:5.1f} fold {v['fold_worst'] * 100:5.1f}"
            for v in row["scores"].values()))
    write_result("surface_folds.json", {"rows": rows, "targets": {"worst_fraction": 0.995}})


def offsets(args):
    """Mean signed offset of the medial cloud from the true mid-surface of curved 4 nm shells, per placement of
    the voxel grid, beside the offset of the mask itself: the mean radius of its voxel centres minus that of
    the continuous shell (volume-weighted), i.e. how far the voxelised mask's own mass sits off the truth."""
    rows = []
    print(f"{'shape':<14}{'grid offset':<20}{'medial (nm)':>12}{'mask (nm)':>11}")
    for kind, radius in (("sphere", 8.0), ("sphere", 12.0), ("sphere", 20.0), ("cylinder", 10.0), ("cylinder", 15.0)):
        shape = shapes.sphere(radius) if kind == "sphere" else shapes.cylinder(radius, length=60.0)
        inner, outer = radius - 0.5 * shape.thickness_nm, radius + 0.5 * shape.thickness_nm
        if kind == "sphere":
            def radial(p):
                return np.linalg.norm(p, axis=1)
            shell_mean = 0.75 * (outer ** 4 - inner ** 4) / (outer ** 3 - inner ** 3)
        else:
            def radial(p):
                return np.hypot(p[:, 0], p[:, 2])
            shell_mean = (2.0 / 3.0) * (outer ** 3 - inner ** 3) / (outer ** 2 - inner ** 2)
        for placement in GRID_OFFSETS:
            mask, origin = shape.mask(1.0, grid_offset_nm=placement)
            points, _, _ = medial_surface(mask, 1.0, origin_nm=origin)
            voxels = np.argwhere(mask)[:, ::-1] + np.asarray(origin)
            if kind == "cylinder":  # away from the open ends
                points, voxels = points[np.abs(points[:, 1]) < 20], voxels[np.abs(voxels[:, 1]) < 20]
            row = {"shape": f"{kind} r={radius:g}", "grid_offset_nm": list(placement),
                   "medial_offset_nm": float(np.mean(radial(points)) - radius),
                   "mask_offset_nm": float(np.mean(radial(voxels)) - shell_mean), "points": len(points)}
            rows.append(row)
            print(f"{row['shape']:<14}{str(placement):<20}{row['medial_offset_nm']:>+12.3f}{row['mask_offset_nm']:>+11.3f}")
    medial = np.array([r["medial_offset_nm"] for r in rows])
    mask_own = np.array([r["mask_offset_nm"] for r in rows])
    correlation = float(np.corrcoef(medial, mask_own)[0, 1])
    print(f"correlation of the medial offset with the mask's own over {len(rows)} masks: {correlation:+.2f}")
    write_result("surface_offsets.json", {"rows": rows, "correlation": correlation})


SECTIONS = {"accuracy": accuracy, "speed": speed, "real": real, "mesh": mesh, "folds": folds,
            "offsets": offsets}


if __name__ == "__main__":
    run_section(__doc__, SECTIONS)
