"""The demo's SurfORA stage: true contact-site ROIs of a phantom → membranes restricted to each ROI →
medial clouds → oriented normals (toward the partner membrane) → gap-aware meshes → distances, compared
with the phantom's true mid-surface gap."""
import json

import numpy as np

from .errors import EngineError
from .io import Mesh, PointCloud, read_mrc, write_ply, write_vtp
from .measure.curvature import mesh_curvature
from .measure.distance import partner_distances, statistics
from .measure.roughness import mesh_roughness, roughness_summary
from .surface.pipeline import crop_to_mesh
from .surface.restrict import origin_nm, restrict_to_rois


ROUGHNESS_SCALE_NM = 10.0


def surface_stage(folder, item, out):
    """Run SurfORA on every true ROI of one phantom; returns one result row per ROI."""
    ts_id = item["tsId"]  # file names as write_phantom writes them
    membranes, voxel_size = read_mrc(folder / f"{ts_id}_membranes.mrc")
    rois, _ = read_mrc(folder / f"{ts_id}_rois.mrc")
    gaps = {roi["label"]: roi["gap_nm"] for roi in json.loads((folder / f"{ts_id}.json").read_text())["rois"]}
    return measure_roi_membranes(membranes, rois, voxel_size, gaps, ts_id, out, f"{ts_id}_membranes.mrc")


def measure_roi_membranes(membranes, rois, voxel_size, gaps, name, out, source="membranes"):
    """Restrict ``membranes`` (labels) to each ROI of ``rois``, mesh the ROI's two first membranes and measure
    their distances, curvature and roughness; ``gaps`` maps ROI labels to the true gap (nm) shown beside.

    Returns
    -------
    rows : list of dict
        One per ROI (an ``error`` entry where it failed, e.g. fewer than two membranes).
    problems : list of str
        ROIs the restriction skipped, and why.
    """
    vs = voxel_size / 10.0
    crops, problems = restrict_to_rois(membranes, rois, vs, source=source)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for crop in crops:
        roi_name = f"{name}_roi{crop.roi}"
        origin = origin_nm(crop.offset_zyx, vs)
        try:
            if len(crop.voxels) < 2:
                raise EngineError(f"{len(crop.voxels)} membrane(s) in the ROI; a distance needs two")
            points, normals, labels, faces, info = crop_to_mesh(crop.labels, vs, origin, source=roi_name)
            present = np.unique(labels)
            if len(present) < 2:
                raise EngineError("one membrane left after meshing; a distance needs two")
            write_ply(out / f"{roi_name}_medial.ply", PointCloud(points, normals, {"label": labels}))
            area = {label: piece["area_nm2"] for label, piece in info["mesh"].items()}
            first, second = (int(v) for v in present[:2])
            distance = partner_distances(points, faces, labels, first, second)
            curvature, _ = mesh_curvature(points, faces, normals, source=roi_name)
            roughness = mesh_roughness(points, faces, normals, ROUGHNESS_SCALE_NM, source=roi_name)
            write_vtp(out / f"{roi_name}_mesh.vtp", Mesh(points, faces, {"Normals": normals, "label": labels,
                                                                         "distance_nm": distance, **curvature,
                                                                         "roughness_nm": roughness}))
        except EngineError as exc:
            rows.append({"roi": roi_name, "label": int(crop.roi), "error": str(exc),
                         "true_gap_nm": gaps.get(crop.roi)})
            continue
        rows.append({"roi": roi_name, "label": int(crop.roi), "points": int(len(points)), "faces": int(len(faces)),
                     "area_nm2": area, "distance": statistics(distance), "true_gap_nm": gaps.get(crop.roi),
                     "median_abs_H": float(np.nanmedian(np.abs(curvature["mean_curvature"]))),
                     "roughness": roughness_summary(roughness)})
    return rows, problems


def print_surface_table(rows, title="SurfORA on the true contact-site ROIs"):
    print(f"\n{title} (medial surface, partner-oriented normals, gap-aware mesh,"
          f" curvature, roughness at {ROUGHNESS_SCALE_NM:g} nm):")
    print(f"{'ROI':<30}{'points':>7}{'faces':>7}{'area nm²':>16}{'min gap':>9}{'true gap':>9}{'mean ± sd nm':>15}"
          f"{'|H| 1/nm':>10}{'Rq nm':>7}")
    for row in rows:
        if "error" in row:
            print(f"{row['roi']:<30} failed: {row['error']}")
            continue
        d, true = row["distance"], row["true_gap_nm"]
        areas = " + ".join(f"{a:.0f}" for a in row["area_nm2"].values())
        print(f"{row['roi']:<30}{row['points']:>7}{row['faces']:>7}{areas:>16}{d['min']:>9.1f}"
              f"{'n/a' if true is None else f'{true:.1f}':>9}{d['mean']:>9.1f} ± {d['std']:<4.1f}"
              f"{row['median_abs_H']:>10.4f}{row['roughness']['Rq_nm']:>7.2f}")
