"""``tomorois-surfora measure distance``: per-vertex inter-membrane distances, tables and a VTP."""
from pathlib import Path

import numpy as np

from ..errors import InputError


def add_measure_commands(subparsers, positive_float, positive_int):
    """Register ``measure distance``."""
    measure = subparsers.add_parser("measure", help="SurfORA measurements on meshes",
                                    description="Measurements on labelled membrane meshes (VTP).")
    stages = measure.add_subparsers(dest="stage", metavar="{distance}", required=True)
    distance = stages.add_parser("distance", help="vertex → partner-mesh distances",
                                 description="For every vertex of a membrane label, the distance to the closest "
                                             "point on the partner label's triangles. Writes <mesh>_distance.vtp "
                                             "(array distance_nm), a per-vertex CSV and a per-pair summary CSV.")
    distance.add_argument("meshes", nargs="+", type=Path, help="VTP meshes with a 'label' point array "
                                                               "(e.g. from `surface mesh`)")
    distance.add_argument("--pairs", nargs="+", metavar="LABEL:PARTNER",
                          help="which label to measure against which (default with two labels: both ways)")
    distance.add_argument("--out", required=True, type=Path, help="output folder")
    distance.add_argument("--quiet", action="store_true")
    distance.set_defaults(handler=run_distance)


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


def run_distance(args):
    from ..io import ensure_output_dir, read_vtp, write_csv, write_vtp
    from ..progress import for_each_input
    from .distance import partner_distances, statistics

    out = ensure_output_dir(args.out)

    def work(path):
        mesh = read_vtp(path)
        if "label" not in mesh.point_data:
            raise InputError(f"{path}: the mesh has no 'label' point array")
        labels = np.asarray(mesh.point_data["label"]).astype(int)
        pairs = parse_pairs(args.pairs, sorted(set(labels.tolist())), str(path))
        distance = np.full(len(mesh.points), np.nan)
        partner_of = np.full(len(mesh.points), -1)
        summary = []
        for label, partner in pairs:
            d = partner_distances(mesh.points, mesh.faces, labels, label, partner)
            mine = labels == label
            distance[mine], partner_of[mine] = d[mine], partner
            summary.append({"label": label, "partner": partner, **statistics(d[mine])})
        mesh.point_data["distance_nm"] = distance
        write_vtp(out / f"{path.stem}_distance.vtp", mesh)
        measured = np.isfinite(distance)
        write_csv(out / f"{path.stem}_distance_vertices.csv",
                  {"vertex": np.flatnonzero(measured), "label": labels[measured], "partner": partner_of[measured],
                   "x": mesh.points[measured, 0], "y": mesh.points[measured, 1], "z": mesh.points[measured, 2],
                   "distance_nm": distance[measured]})
        write_csv(out / f"{path.stem}_distance_summary.csv", summary)
        return f"{path.name}: " + "; ".join(f"{r['label']}→{r['partner']} mean {r['mean']:.2f} ± {r['std']:.2f} nm "
                                            f"(min {r['min']:.2f})" for r in summary)
    return for_each_input("measure distance", args.meshes, args.quiet, work)
