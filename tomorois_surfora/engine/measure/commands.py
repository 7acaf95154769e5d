"""``tomorois-surfora measure distance|curvature|roughness|area``: per-vertex measurements on labelled
membrane meshes (VTP), written back as VTP arrays, per-vertex and per-label CSV tables, plots and STAR."""
from pathlib import Path

import numpy as np

from ..errors import InputError

STAGES = ("distance", "curvature", "roughness", "area")


def add_measure_commands(subparsers, positive_float, positive_int):
    """Register ``measure distance|curvature|roughness|area``."""
    from .curvature import CurvatureParameters

    measure = subparsers.add_parser("measure", help="SurfORA measurements on meshes",
                                    description="Measurements on labelled membrane meshes (VTP from `surface mesh`).")
    stages = measure.add_subparsers(dest="stage", metavar="{" + ",".join(STAGES) + "}", required=True)

    def stage(name, help_text, description):
        parser = stages.add_parser(name, help=help_text, description=description)
        parser.add_argument("meshes", nargs="+", type=Path, help="VTP meshes with 'Normals' and 'label' point arrays")
        parser.add_argument("--out", required=True, type=Path, help="output folder")
        parser.add_argument("--quiet", action="store_true", help="no progress output")
        return parser

    distance = stage("distance", "vertex → partner-mesh distances",
                     "For every vertex of a membrane label, the distance to the closest point on the partner "
                     "label's triangles. Writes <mesh>_distance.vtp (array distance_nm), a per-vertex CSV, a "
                     "per-pair summary CSV, and over all inputs contacts_distance.csv and a ranked plot "
                     "contacts_distance.png (mean ± std per contact).")
    distance.add_argument("--pairs", nargs="+", metavar="LABEL:PARTNER",
                          help="which label to measure against which (default with two labels: both ways)")
    distance.set_defaults(handler=run_distance)

    defaults = CurvatureParameters()
    curvature = stage("curvature", "multi-scale signed curvature per vertex",
                      "Mean (H) and Gaussian (K) curvature per vertex from geodesic neighbourhoods over several "
                      "radii, each vertex at its most stable radius; H > 0 where the surface bends away from "
                      "its normals (a sphere with outward normals: +1/R). Vertices closer to an open edge than "
                      "the smallest radius get no value. Writes <mesh>_curvature.vtp, per-vertex and per-label "
                      "CSV and a histogram PNG.")
    curvature.add_argument("--radii", nargs="+", type=positive_float, metavar="NM",
                           help="neighbourhood radii, ascending (default: point spacing × 4, 6, 8, 11, 15)")
    curvature.add_argument("--smoothing", type=positive_float, default=defaults.smoothing,
                           help="normals are averaged over this fraction of each radius (default %(default)s)")
    curvature.add_argument("--tolerance", type=float, default=defaults.relative_tolerance,
                           help="relative stability tolerance between radii (default %(default)s)")
    curvature.add_argument("--star", action="store_true",
                           help="also write a RELION-style STAR (vertex coordinates in pixels, normal angles, "
                                "curvatures); needs --voxel-size")
    curvature.add_argument("--voxel-size", type=positive_float, metavar="Å", help="tomogram voxel size, for --star")
    curvature.set_defaults(handler=run_curvature)

    roughness = stage("roughness", "deviation from a smooth fit at a scale",
                      "Each vertex's signed offset from a quadratic surface fitted to its geodesic neighbourhood "
                      "(array roughness_nm); per label Ra (mean |offset|) and Rq (RMS).")
    roughness.add_argument("--scale", type=positive_float, default=5.0, metavar="NM",
                           help="radius of the smooth fit (default %(default)s nm)")
    roughness.set_defaults(handler=run_roughness)

    area = stage("area", "surface area per label", "Triangle area per membrane label (nm²) into a CSV.")
    area.set_defaults(handler=run_area)


def parse_pairs(texts, labels, source):
    """[(label, partner)] from 'A:B' strings, or both ways between exactly two labels."""
    if not texts:
        if len(labels) != 2:
            raise InputError(f"{source}: the mesh has labels {', '.join(map(str, labels))}; say which to measure "
                             "with --pairs LABEL:PARTNER")
        return [(labels[0], labels[1]), (labels[1], labels[0])]
    pairs = []
    for text in texts:
        try:
            label, partner = (int(v) for v in text.split(":"))
        except ValueError:
            raise InputError(f"--pairs takes LABEL:PARTNER with whole numbers, got {text!r}") from None
        pairs.append((label, partner))
    sources = [label for label, _ in pairs]
    if len(set(sources)) != len(sources):
        raise InputError("each label can be measured against one partner per run (--pairs repeats a label)")
    return pairs


def load_mesh(path):
    """The mesh, its per-vertex labels (0 without a 'label' array) and its normals (None without)."""
    from ..io import read_vtp
    from ..triangles import triangle_areas

    mesh = read_vtp(path)
    if len(mesh.faces) == 0:
        raise InputError(f"{path}: the mesh has no triangles")
    if not triangle_areas(mesh.points, mesh.faces).sum() > 0:
        raise InputError(f"{path}: every triangle has zero area (a degenerate mesh: coincident or collinear "
                         "vertices)")
    labels = np.asarray(mesh.point_data.get("label", np.zeros(len(mesh.points)))).astype(int)
    return mesh, labels, mesh.point_data.get("Normals")


def vertex_table(mesh, labels, columns):
    """Per-vertex rows (vertex, label, x, y, z, columns...) where the first column is finite."""
    first = next(iter(columns.values()))
    keep = np.isfinite(first)
    table = {"vertex": np.flatnonzero(keep), "label": labels[keep], "x": mesh.points[keep, 0],
             "y": mesh.points[keep, 1], "z": mesh.points[keep, 2]}
    table.update({name: np.asarray(values)[keep] for name, values in columns.items()})
    return table


def per_label(labels, values, **extra):
    """Summary statistics of ``values`` for every label: [{label, n, mean, std, min, median, max}]."""
    from .distance import statistics

    return [{"label": int(label), **extra, **statistics(values[labels == label])} for label in np.unique(labels)]


def run_distance(args):
    from ..io import ensure_output_dir, write_csv, write_vtp
    from ..progress import for_each_input
    from .distance import partner_distances, statistics
    from .export import plot_ranked_distances

    out = ensure_output_dir(args.out)
    contacts = []

    def work(path):
        mesh, labels, _ = load_mesh(path)
        pairs = parse_pairs(args.pairs, sorted(set(labels.tolist())), str(path))
        distance = np.full(len(mesh.points), np.nan)
        partner_of = np.full(len(mesh.points), -1)
        summary = []
        for label, partner in pairs:
            d = partner_distances(mesh.points, mesh.faces, labels, label, partner)
            mine = labels == label
            distance[mine], partner_of[mine] = d[mine], partner
            summary.append({"mesh": path.stem, "label": label, "partner": partner, **statistics(d[mine])})
        mesh.point_data["distance_nm"] = distance
        write_vtp(out / f"{path.stem}_distance.vtp", mesh)
        table = vertex_table(mesh, labels, {"distance_nm": distance})
        table["partner"] = partner_of[table["vertex"]]
        write_csv(out / f"{path.stem}_distance_vertices.csv", table)
        write_csv(out / f"{path.stem}_distance_summary.csv", summary)
        contacts.extend(summary)
        return f"{path.name}: " + "; ".join(f"{r['label']}→{r['partner']} mean {r['mean']:.2f} ± {r['std']:.2f} nm "
                                            f"(min {r['min']:.2f})" for r in summary)
    code = for_each_input("measure distance", args.meshes, args.quiet, work)
    if contacts:
        write_csv(out / "contacts_distance.csv", contacts)
        plot_ranked_distances([{**r, "name": f"{r['mesh']} {r['label']}→{r['partner']}"} for r in contacts],
                              out / "contacts_distance.png")
    return code


def run_curvature(args):
    from ..io import ensure_output_dir, write_csv, write_star, write_vtp
    from ..progress import for_each_input
    from .curvature import CurvatureParameters, mesh_curvature
    from .export import plot_histograms, vertex_star_table

    if args.star and not args.voxel_size:
        raise InputError("--star writes pixel coordinates: give the tomogram's --voxel-size in Å")
    params = CurvatureParameters(radii_nm=tuple(args.radii) if args.radii else None, smoothing=args.smoothing,
                                 relative_tolerance=args.tolerance)
    out = ensure_output_dir(args.out)

    def work(path):
        mesh, labels, normals = load_mesh(path)
        values, info = mesh_curvature(mesh.points, mesh.faces, normals, params, source=str(path))
        mesh.point_data.update(values)
        write_vtp(out / f"{path.stem}_curvature.vtp", mesh)
        write_csv(out / f"{path.stem}_curvature_vertices.csv", vertex_table(mesh, labels, values))
        H = values["mean_curvature"]
        summary = per_label(labels, H, quantity="mean_curvature_per_nm")
        summary += per_label(labels, values["gaussian_curvature"], quantity="gaussian_curvature_per_nm2")
        write_csv(out / f"{path.stem}_curvature_summary.csv", summary)
        plot_histograms({f"label {k}": H[labels == k] for k in np.unique(labels)},
                        out / f"{path.stem}_curvature.png", "mean curvature H (1/nm)")
        if args.star:
            keep = np.isfinite(H)
            write_star(out / f"{path.stem}_curvature.star", vertex_star_table(
                mesh.points[keep], normals[keep], args.voxel_size, path.stem,
                {"label": labels[keep], "mean_curvature": H[keep], "gaussian_curvature":
                 values["gaussian_curvature"][keep]}))
        radii = ", ".join(f"{r:.2f}" for r in info["radii_nm"])
        non_manifold = (f"{info['non_manifold_edges']} non-manifold edges (treated as open edges); "
                        if info["non_manifold_edges"] else "")
        return (f"{path.name}: radii {radii} nm chosen {info['chosen_per_radius']}, {info['without_value']} "
                f"vertices near edges without value; {non_manifold}" + "; ".join(
                    f"label {r['label']} H {r['median']:.4f} /nm median" for r in summary[:len(np.unique(labels))]))
    return for_each_input("measure curvature", args.meshes, args.quiet, work)


def run_roughness(args):
    from ..io import ensure_output_dir, write_csv, write_vtp
    from ..progress import for_each_input
    from .roughness import mesh_roughness, roughness_summary

    out = ensure_output_dir(args.out)

    def work(path):
        mesh, labels, normals = load_mesh(path)
        offsets = mesh_roughness(mesh.points, mesh.faces, normals, args.scale, source=str(path))
        mesh.point_data["roughness_nm"] = offsets
        write_vtp(out / f"{path.stem}_roughness.vtp", mesh)
        write_csv(out / f"{path.stem}_roughness_vertices.csv", vertex_table(mesh, labels, {"roughness_nm": offsets}))
        summary = [{"label": int(k), "scale_nm": args.scale, **roughness_summary(offsets[labels == k])}
                   for k in np.unique(labels)]
        write_csv(out / f"{path.stem}_roughness_summary.csv", summary)
        return f"{path.name}: " + "; ".join(f"label {r['label']} Rq {r['Rq_nm']:.3f} nm" for r in summary)
    return for_each_input("measure roughness", args.meshes, args.quiet, work)


def run_area(args):
    from ..io import ensure_output_dir, write_csv
    from ..progress import for_each_input
    from .roughness import label_areas

    out = ensure_output_dir(args.out)

    def work(path):
        mesh, labels, _ = load_mesh(path)
        areas = label_areas(mesh.points, mesh.faces, labels)
        write_csv(out / f"{path.stem}_area.csv", [{"label": k, "area_nm2": v} for k, v in areas.items()])
        return f"{path.name}: " + "; ".join(f"label {k} {v:.0f} nm²" for k, v in areas.items())
    return for_each_input("measure area", args.meshes, args.quiet, work)
