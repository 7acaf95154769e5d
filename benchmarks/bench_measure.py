"""Benchmark SurfORA part 2: curvature, distances and the whole chain against analytic truth, PyCurv and VTK.

    .venv/bin/python benchmarks/bench_measure.py curvature   # analytic meshes + PyCurv's voxel sphere, vs VTK
    .venv/bin/python benchmarks/bench_measure.py distance    # sheets and vesicle–tube pairs with known gaps
    .venv/bin/python benchmarks/bench_measure.py endtoend    # one ROI of two membranes, ~100k points, mask → all
    .venv/bin/python benchmarks/bench_measure.py real        # ER–plasma-membrane contact (../shared/data)

Each section prints a table and writes benchmarks/results/measure_<section>.json. Curvature errors are the
mean over vertices of |H − H_true| / |H_true| (PyCurv's definition); VTK's mean curvature (vtkCurvatures) has
its own sign convention, so it is scored on |H|.
"""
import time
from pathlib import Path

import numpy as np
from results_json import run_section, write_result

from tomorois_surfora.engine.measure.curvature import CurvatureParameters, mesh_curvature
from tomorois_surfora.engine.measure.distance import closest_points, partner_distances, statistics
from tomorois_surfora.engine.measure.roughness import label_areas, mesh_roughness, roughness_summary
from tomorois_surfora.engine.surface.geometry import estimate_normals
from tomorois_surfora.engine.surface.orient import orient_normals
from tomorois_surfora.engine.surface.pipeline import crop_to_mesh
from tomorois_surfora.engine.synth import shapes

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pycurv"
# voxel grids placed on whole nanometres and shifted by sub-voxel offsets (nm); bench_surface uses them too
GRID_OFFSETS = ((0.0, 0.0, 0.0), (0.3, 0.1, 0.45), (0.5, 0.5, 0.5), (0.7, 0.25, 0.15))


def vtk_mean_curvature(points, faces):
    import pyvista as pv

    mesh = pv.PolyData(points, np.c_[np.full(len(faces), 3), faces].ravel())
    start = time.perf_counter()
    H = np.asarray(mesh.curvature("mean"))
    return H, time.perf_counter() - start


def relative_error(H, truth):
    ok = np.isfinite(H) & np.isfinite(truth)
    return float(np.mean(np.abs(H[ok] - truth[ok]) / np.abs(truth[ok])))


def score_mesh(name, points, faces, normals, truth, params=None):
    start = time.perf_counter()
    values, info = mesh_curvature(points, faces, normals, params)
    seconds = time.perf_counter() - start
    H = values["mean_curvature"]
    vtk_H, vtk_seconds = vtk_mean_curvature(points, faces)
    have = np.isfinite(H)
    row = {"case": name, "vertices": int(len(points)), "with_value": float(have.mean()),
           "error": relative_error(H, truth), "median_H_over_truth": float(np.nanmedian(H / truth)),
           "seconds": seconds, "vertices_per_s": len(points) / seconds, "radii_nm": info["radii_nm"],
           "chosen_per_radius": info["chosen_per_radius"],
           "vtk_error_same_vertices": relative_error(np.where(have, np.abs(vtk_H), np.nan), np.abs(truth)),
           "vtk_error_all": relative_error(np.abs(vtk_H), np.abs(truth)), "vtk_seconds": vtk_seconds}
    print(f"{name:<34}{len(points):>8}{row['with_value'] * 100:>7.1f}%{row['error'] * 100:>8.2f}%"
          f"{row['vtk_error_same_vertices'] * 100:>9.1f}%{seconds:>8.2f}{row['vertices_per_s']:>10.0f}")
    return row


def torus_mean_curvature(points, major, minor):
    cos_v = (np.hypot(points[:, 0], points[:, 1]) - major) / minor
    return 0.5 * (1.0 / minor + cos_v / (major + minor * cos_v))


def sphere_fit(points):
    """Least-squares sphere: centre and radius."""
    design = np.c_[2 * points, np.ones(len(points))]
    solution = np.linalg.lstsq(design, np.sum(points ** 2, axis=1), rcond=None)[0]
    centre = solution[:3]
    return centre, float(np.sqrt(solution[3] + centre @ centre))


def voxel_sphere_mesh(radius, seed=0):
    """Marching cubes (no smoothing) of a binary ball of ``radius`` voxels with a random sub-voxel centre: the
    staircase surface of a segmented vesicle, made the way PyCurv's noisy spheres are (a surface of voxels)."""
    from skimage.measure import marching_cubes

    size = 2 * radius + 6
    centre = (size - 1) / 2 + np.random.default_rng(seed).uniform(-0.5, 0.5, 3)
    z, y, x = np.mgrid[:size, :size, :size]
    ball = ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= radius ** 2).astype(np.float32)
    vertices, faces, _, _ = marching_cubes(ball, 0.5)
    return np.ascontiguousarray(vertices[:, ::-1], dtype=np.float64), faces.astype(np.int64)


def score_voxel_sphere(radius):
    """Our curvature on a voxel sphere, against 1/r and against its own least-squares radius."""
    points, faces = voxel_sphere_mesh(radius)
    normals, _ = estimate_normals(points)
    normals, _ = orient_normals(points, normals)
    centre, fitted = sphere_fit(points)
    outward = np.sum(normals * (points - centre), axis=1) > 0
    normals = np.where(outward.mean() > 0.5, 1.0, -1.0) * normals
    row = score_mesh(f"voxel sphere r{radius} (marching cubes)", points, faces, normals, np.full(len(points), 1 / radius))
    values, _ = mesh_curvature(points, faces, normals)
    row["fitted_radius"] = fitted
    row["error_vs_fitted_sphere"] = relative_error(values["mean_curvature"], np.full(len(points), 1 / fitted))
    print(f"    its vertices fit a sphere of radius {fitted:.2f}: error against 1/{fitted:.2f} "
          f"{row['error_vs_fitted_sphere'] * 100:.2f}%")
    return row


def curvature(args):
    import open3d as o3d

    warm_up = o3d.geometry.TriangleMesh.create_sphere(radius=10.0, resolution=10)  # load the compiled code once
    mesh_curvature(np.asarray(warm_up.vertices), np.asarray(warm_up.triangles), np.asarray(warm_up.vertices))
    print(f"{'case':<34}{'verts':>8}{'valued':>8}{'H err':>9}{'VTK err':>10}{'s':>8}{'verts/s':>10}")
    rows = []
    for shape, truth in ((shapes.sphere(10.0), 1 / 10), (shapes.sphere(20.0), 1 / 20), (shapes.sphere(30.0), 1 / 30),
                         (shapes.sphere(50.0), 1 / 50), (shapes.cylinder(15.0), 1 / 30),
                         (shapes.torus(25.0, 10.0), None)):
        mask, origin = shape.mask(1.0)
        points, normals, _, faces, _ = crop_to_mesh(mask.astype(np.int8), 1.0, origin, convention="outward")
        H_true = torus_mean_curvature(points, 25.0, 10.0) if truth is None else np.full(len(points), truth)
        rows.append(score_mesh(f"{shape.name} medial mesh", points, faces, normals, H_true))
    path = SHARED / "noisy_sphere_r10.surface.vtk"
    if path.is_file():
        import pyvista as pv

        mesh = pv.read(path)
        points, faces = np.asarray(mesh.points, dtype=np.float64), mesh.faces.reshape(-1, 4)[:, 1:]
        normals, _ = estimate_normals(points)
        normals, _ = orient_normals(points, normals)
        centre, radius = sphere_fit(points)
        for label, params in (("default radii", None), ("radii 6-15", CurvatureParameters(radii_nm=(6, 8, 11, 15)))):
            row = score_mesh(f"PyCurv voxel sphere r10, {label}", points, faces, normals,
                             np.full(len(points), 0.1), params)
            values, _ = mesh_curvature(points, faces, normals, params)
            row["fitted_radius"] = radius
            row["error_vs_fitted_sphere"] = relative_error(values["mean_curvature"], np.full(len(points), 1 / radius))
            print(f"    its vertices fit a sphere of radius {radius:.2f}: error against 1/{radius:.2f} "
                  f"{row['error_vs_fitted_sphere'] * 100:.2f}%")
            rows.append(row)
    else:
        print(f"skipped PyCurv's sphere: {path} is absent")
    for radius in (10, 30):
        rows.append(score_voxel_sphere(radius))
    sphere = o3d.geometry.TriangleMesh.create_sphere(radius=90.0, resolution=225)
    points, faces = np.asarray(sphere.vertices), np.asarray(sphere.triangles)
    rows.append(score_mesh("icosphere-like r90 (throughput)", points, faces,
                           points / np.linalg.norm(points, axis=1, keepdims=True), np.full(len(points), 1 / 90)))
    write_result("measure_curvature.json", {"rows": rows})


def label_map(parts, voxel_size=1.0, pad=6.0, grid_offset=(0.0, 0.0, 0.0)):
    """Label map of several analytic shapes: [(shape, shift (x, y, z), label)] → (labels (z, y, x), origin).

    ``grid_offset`` (nm) shifts the voxel centres off whole multiples of the voxel size: with none, faces at
    whole radii pass exactly through voxel centres, and those ties all fall inside the mask."""
    low = np.min([np.asarray(s.low) + shift for s, shift, _ in parts], axis=0) - pad + np.asarray(grid_offset)
    high = np.max([np.asarray(s.high) + shift for s, shift, _ in parts], axis=0) + pad
    axes = [np.arange(low[i], high[i] + 1e-9, voxel_size) for i in range(3)]
    grid = np.stack([g.ravel() for g in np.meshgrid(*axes, indexing="ij")], axis=1)
    labels = np.zeros(len(grid), dtype=np.int8)
    for shape, shift, label in parts:
        labels[shape.distance(grid - np.asarray(shift)) <= 0.5 * shape.thickness_nm] = label
    shape_xyz = tuple(len(a) for a in axes)
    return np.ascontiguousarray(labels.reshape(shape_xyz).transpose(2, 1, 0)), low


def distance_case(name, crop, origin, true_distance):
    points, normals, labels, faces, _ = crop_to_mesh(crop, 1.0, origin, source=name)
    d = partner_distances(points, faces, labels, 1, 2)
    mine = labels == 1
    truth = true_distance(points[mine])
    errors = d[mine] - truth
    row = {"case": name, "vertices": int(mine.sum()), "measured": statistics(d[mine]), "truth": statistics(truth),
           "mean_abs_error": float(np.mean(np.abs(errors))), "mean_error": float(np.mean(errors)),
           "min_error": float(d[mine].min() - truth.min())}
    print(f"{name:<30}{row['measured']['mean']:>9.2f}{row['truth']['mean']:>9.2f}{row['mean_error']:>+9.3f}"
          f"{row['mean_abs_error']:>9.3f}{row['measured']['min']:>9.2f}{row['truth']['min']:>9.2f}")
    return row, points, labels


def distance(args):
    print(f"{'case':<30}{'mean':>9}{'true':>9}{'bias':>9}{'|err|':>9}{'min':>9}{'true min':>9}")
    rows = []
    for gap in (3.0, 6.0, 10.0):
        sheets = shapes.parallel_sheets(gap, size=40.0)
        mask, origin = sheets.mask(1.0)
        z = origin[2] + np.arange(mask.shape[0])
        crop = np.where(mask, np.where(z[:, None, None] > 0, 1, 2), 0).astype(np.int8)
        half = 0.5 * (gap + sheets.thickness_nm)
        rows.append(distance_case(f"sheets, {gap:g} nm free gap", crop, origin,
                                  lambda p, h=half: np.abs(p[:, 2] + h))[0])
    # A vesicle (r 15) and a tube (r 10, along y) at two mid-surface gaps, on the aligned grid (the faces at
    # whole radii run through voxel centres, which the mask includes) and three sub-voxel grid offsets.
    for gap in (5.0, 10.0):
        for offset in GRID_OFFSETS:
            vesicle, tube = shapes.sphere(15.0), shapes.cylinder(10.0, length=60.0)
            axis_x = 15.0 + gap + 10.0
            crop, origin = label_map([(vesicle, (0, 0, 0), 1), (tube, (axis_x, 0, 0), 2)], grid_offset=offset)
            row, points, labels = distance_case(f"vesicle r15 – tube r10, {gap:g} nm, grid +{offset}", crop, origin,
                                                lambda p, x=axis_x: np.abs(np.hypot(p[:, 0] - x, p[:, 2]) - 10.0))
            tube_points = points[labels == 2]
            row["grid_offset_nm"] = list(offset)
            row["tube_mean_radial_offset_nm"] = float(np.mean(np.hypot(tube_points[:, 0] - axis_x,
                                                                       tube_points[:, 2]) - 10.0))
            print(f"    the tube's mesh vertices lie {row['tube_mean_radial_offset_nm']:+.3f} nm off r = 10 on average")
            rows.append(row)
    import open3d as o3d

    sphere = o3d.geometry.TriangleMesh.create_sphere(radius=50.0, resolution=160)
    vertices, faces = np.asarray(sphere.vertices), np.asarray(sphere.triangles)
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(1_000_000, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    speed = []
    for label, queries in (("5–20 nm off the mesh (contact sites)", directions * rng.uniform(55, 70, (len(directions), 1))),
                           ("uniform in a 160 nm cube (far field)", rng.uniform(-80, 80, size=(1_000_000, 3)))):
        start = time.perf_counter()
        d, _, _ = closest_points(queries, vertices, faces)
        seconds = time.perf_counter() - start
        exact_error = float(np.max(np.abs(d - np.abs(np.linalg.norm(queries, axis=1) - 50.0))))
        speed.append({"queries": label, "n": len(queries), "triangles": int(len(faces)), "seconds": seconds,
                      "queries_per_s": len(queries) / seconds, "max_error_vs_sphere_nm": exact_error})
        print(f"{len(queries)} queries {label} on {len(faces)} triangles: {seconds:.2f} s, "
              f"{len(queries) / seconds:.0f} queries/s (max deviation from the true sphere {exact_error:.3f} nm, "
              "the inscribed mesh's chord error)")
    write_result("measure_distance.json", {"cases": rows, "speed": speed})


def endtoend(args):
    """Two concentric vesicle membranes (mid-radii 70 and 86 nm, ~100k points) in one ROI: mask → every measurement."""
    inner, outer = shapes.sphere(70.0), shapes.sphere(86.0)
    crop, origin = label_map([(inner, (0, 0, 0), 1), (outer, (0, 0, 0), 2)])
    times = {}
    start = time.perf_counter()
    from tomorois_surfora.engine.surface.extract import extract_cloud
    from tomorois_surfora.engine.surface.orient import OrientParameters
    from tomorois_surfora.engine.surface.pipeline import mesh_labels

    points, normals, labels, _ = extract_cloud(crop, 1.0, "medial", origin_nm=origin)
    times["extract"] = time.perf_counter() - start
    mark = time.perf_counter()
    normals, _ = orient_normals(points, normals, OrientParameters(convention="outward"), labels)
    times["orient"] = time.perf_counter() - mark
    mark = time.perf_counter()
    points, faces, _ = mesh_labels(points, normals, labels, crop, origin, 1.0)
    times["mesh"] = time.perf_counter() - mark
    mark = time.perf_counter()
    d = partner_distances(points, faces, labels, 1, 2)
    times["distance"] = time.perf_counter() - mark
    mark = time.perf_counter()
    values, _ = mesh_curvature(points, faces, normals)
    times["curvature"] = time.perf_counter() - mark
    mark = time.perf_counter()
    offsets = mesh_roughness(points, faces, normals, 5.0)
    times["roughness"] = time.perf_counter() - mark
    mark = time.perf_counter()
    areas = label_areas(points, faces, labels)
    times["area"] = time.perf_counter() - mark
    total = time.perf_counter() - start
    H = values["mean_curvature"]
    row = {"points": int(len(points)), "faces": int(len(faces)), "seconds": times, "total_seconds": total,
           "distance_inner_to_outer": statistics(d[labels == 1]), "true_distance": 16.0,
           "H_inner_median": float(np.nanmedian(H[labels == 1])), "H_outer_median": float(np.nanmedian(H[labels == 2])),
           "true_H": [1 / 70, 1 / 86], "roughness": roughness_summary(offsets), "area_nm2": areas,
           "true_area_nm2": [4 * np.pi * 70 ** 2, 4 * np.pi * 86 ** 2]}
    print(f"{len(points)} points, {len(faces)} faces; " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + f"; total {total:.1f} s")
    print(f"distance {row['distance_inner_to_outer']['mean']:.2f} nm (true 16); median H {row['H_inner_median']:.5f}"
          f" / {row['H_outer_median']:.5f} (true {1 / 70:.5f} / {1 / 86:.5f}); area "
          + " / ".join(f"{a:.0f}" for a in areas.values())
          + f" (true {4 * np.pi * 70 ** 2:.0f} / {4 * np.pi * 86 ** 2:.0f}); Rq {row['roughness']['Rq_nm']:.3f} nm")
    write_result("measure_endtoend.json", row)


def real(args):
    from tomorois_surfora.engine.io import read_mrc

    path = SHARED / "er_pm_contact_labels.mrc"
    if not path.is_file():
        print(f"skipped: {path} is absent")
        return
    labels, _ = read_mrc(path, voxel_size=13.68)
    crop = np.where(np.isin(labels, (1, 2)), labels, 0).astype(np.int8)  # label 3 is the ER lumen
    points, normals, point_labels, faces, _ = crop_to_mesh(crop, 1.368, source=path.name)
    d = partner_distances(points, faces, point_labels, 1, 2)[point_labels == 1]
    values, _ = mesh_curvature(points, faces, normals)
    row = {"distance_pm_to_er": statistics(d), "p5": float(np.percentile(d, 5)), "p95": float(np.percentile(d, 95)),
           "voxel_baseline": {"median": 19.6, "p5": 13, "p95": 30},
           "median_abs_H": float(np.nanmedian(np.abs(values["mean_curvature"])))}
    print(f"PM → ER mesh distance: median {row['distance_pm_to_er']['median']:.1f} nm (5th–95th "
          f"{row['p5']:.1f}–{row['p95']:.1f}); voxel EDT baseline median 19.6 (13–30)")
    write_result("measure_real.json", row)






SECTIONS = {"curvature": curvature, "distance": distance, "endtoend": endtoend, "real": real}


if __name__ == "__main__":
    run_section(__doc__, SECTIONS)
