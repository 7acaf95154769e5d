"""``tomorois-surfora surface restrict|extract|orient|mesh``.

Every command takes several inputs; a bad input is reported and the others go on; the exit code is 1 when
any failed. Each restricted ROI crop ``<name>_roi<k>.mrc`` has a sidecar ``<name>_roi<k>.json`` with its
origin in nm, so clouds come out in the tomogram's coordinates.
"""
import contextlib
import json
from pathlib import Path

import numpy as np

from ..errors import EngineError, raise_problems
from ..progress import for_each_input



def add_surface_commands(subparsers, positive_float, positive_int):
    """Register ``surface restrict|extract|orient|mesh``."""
    from .medial import MedialParameters
    from .mesh import MeshParameters
    from .orient import CONVENTIONS, METHODS, OrientParameters
    from .restrict import CleanParameters

    clean, medial, orient = CleanParameters(), MedialParameters(), OrientParameters()
    surface = subparsers.add_parser("surface", help="SurfORA: restrict membranes to ROIs, extract and orient "
                                                    "surface point clouds", description="SurfORA surface stages.")
    stages = surface.add_subparsers(dest="stage", metavar="{restrict,extract,orient,mesh,split}", required=True)

    restrict = stages.add_parser("restrict", help="membrane masks ∩ ROI labels -> cleaned per-ROI crops",
                                 description="Cut each membrane mask to each ROI of the matching ROI label map, "
                                             "clean it and write one cropped label map per ROI.")
    restrict.add_argument("membranes", nargs="+", type=Path, help="membrane masks or label maps (MRC)")
    restrict.add_argument("--rois", nargs="+", type=Path,
                          help="ROI label maps, one per membrane file in the same order (default: whole volume)")
    restrict.add_argument("--labels", nargs="+", type=int, help="membrane labels to keep (default: all non-zero)")
    restrict.add_argument("--out", required=True, type=Path, help="output folder")
    restrict.add_argument("--voxel-size", type=positive_float, metavar="Å", help="default: from the MRC header")
    restrict.add_argument("--closing", type=float, default=clean.closing_nm, metavar="NM",
                          help="closing radius, 0 to skip (default %(default)s)")
    restrict.add_argument("--opening", type=float, default=clean.opening_nm, metavar="NM",
                          help="opening radius, 0 to skip (default %(default)s)")
    restrict.add_argument("--min-volume", type=float, default=clean.min_volume_nm3, metavar="NM3",
                          help="drop membrane pieces smaller than this (default %(default)s)")
    restrict.add_argument("--quiet", action="store_true", help="no progress output")
    restrict.set_defaults(handler=run_restrict)

    extract = stages.add_parser("extract", help="membrane masks -> surface point clouds (PLY)",
                                description="Medial (mid-surface, MLS) or isosurface point clouds with normals, "
                                            "one PLY per input holding every membrane label (property 'label').")
    extract.add_argument("masks", nargs="+", type=Path, help="membrane masks or label maps (MRC), e.g. "
                                                             "`surface restrict` crops")
    extract.add_argument("--method", choices=("medial", "iso"), default="medial",
                         help="medial: one layer on the mid-surface; iso: both faces of the membrane "
                              "(default %(default)s)")
    extract.add_argument("--out", required=True, type=Path, help="output folder")
    extract.add_argument("--voxel-size", type=positive_float, metavar="Å", help="default: from the MRC header")
    extract.add_argument("--spacing", type=positive_float, metavar="NM", help="point spacing (default: one voxel)")
    extract.add_argument("--radius", type=positive_float, metavar="NM",
                         help="medial: fitting radius (default: 1.5 × membrane thickness)")
    extract.add_argument("--adaptive", action="store_true", help="iso: curvature-adaptive spacing")
    extract.add_argument("--upsample", type=positive_int, default=1, help="iso: SDF grid refinement")
    extract.add_argument("--min-area", type=float, default=medial.min_area_nm2, metavar="NM2",
                         help="medial: drop pieces smaller than this (default %(default)s)")
    extract.add_argument("--quiet", action="store_true", help="no progress output")
    extract.set_defaults(handler=run_extract)

    orient_parser = stages.add_parser("orient", help="consistently orient the normals of point clouds",
                                      description="Orient each membrane label's normals consistently (geodesic "
                                                  "heat-method or dipole propagation), then by a convention.")
    orient_parser.add_argument("clouds", nargs="+", type=Path, help="PLY clouds with normals")
    orient_parser.add_argument("--method", choices=METHODS, default=orient.method,
                               help="geodesic: heat-method distances from each piece's centre; dipole: patches "
                                    "flipped to agree with their neighbours' dipole field (default %(default)s)")
    orient_parser.add_argument("--convention", choices=CONVENTIONS, default=orient.convention,
                               help="outward/inward from each membrane's centroid, partner = toward the other "
                                    "membrane (default %(default)s)")
    orient_parser.add_argument("--partner", type=Path, help="partner cloud for --convention partner when a cloud "
                                                            "holds one membrane")
    orient_parser.add_argument("--neighbours", type=positive_int, default=orient.neighbours,
                               help="nearest neighbours in the orientation graph (default %(default)s)")
    orient_parser.add_argument("--facing-weight", type=float, default=orient.facing_weight, metavar="W",
                               help="weight of the edges across a narrow gap within one surface (a fold's arms: "
                                    "normals both into the gap or both away); 0 for a sheet rolled into a "
                                    "spiral (default %(default)s)")
    orient_parser.add_argument("--consensus-neighbours", type=int, default=orient.consensus_neighbours, metavar="K",
                               help="refit normal directions that the tangent planes of K neighbours clearly "
                                    "contradict (a neighbourhood straddling a fold's two arms, a sheet's rim) "
                                    "before orienting; 0 keeps the directions given (default %(default)s)")
    orient_parser.add_argument("--jet", action="store_true", help="re-estimate (JET) normals before orienting")
    orient_parser.add_argument("--out", required=True, type=Path, help="output folder")
    orient_parser.add_argument("--quiet", action="store_true", help="no progress output")
    orient_parser.set_defaults(handler=run_orient)

    mesh = stages.add_parser("mesh", help="oriented clouds -> gap-aware triangle meshes (VTP)",
                             description="Ball pivoting over radii scanned from the point spacing; triangles with "
                                         "an edge that crosses the gap between membranes (it leaves the label's "
                                         "mask while running across the surface) are removed, then the small "
                                         "holes pivoting left are closed. One VTP per cloud with Normals and "
                                         "label.")
    mesh.add_argument("clouds", nargs="+", type=Path, help="oriented PLY clouds")
    mesh.add_argument("--masks", nargs="+", type=Path,
                      help="the membrane crops the clouds came from, same order (default: the clouds' own voxels, "
                           "which cannot see gaps under 2 voxels)")
    mesh.add_argument("--voxel-size", type=positive_float, metavar="Å", help="default: from the mask header")
    mesh.add_argument("--max-hole-edges", type=int, default=MeshParameters().max_hole_edges, metavar="N",
                      help="close holes whose boundary has at most N edges, 0 for none (default %(default)s)")
    mesh.add_argument("--smooth", type=int, default=0, metavar="STEPS",
                      help="damped Laplacian smoothing steps, boundary fixed (default %(default)s)")
    mesh.add_argument("--out", required=True, type=Path, help="output folder")
    mesh.add_argument("--quiet", action="store_true", help="no progress output")
    mesh.set_defaults(handler=run_mesh)

    split = stages.add_parser("split", help="isosurface meshes -> inner/outer leaflets",
                              description="Split each membrane's isosurface mesh into its two leaflets: a "
                                          "Poisson proxy of the mid-surface mesh (written as <mid>_proxy.vtp) "
                                          "decides the side of every vertex; closed sheets go whole, open ones "
                                          "are cut along the rim. Writes <iso>_leaflets.vtp with 'leaflet' = +1 "
                                          "on the side the mid-surface normals point to, -1 on the other.")
    split.add_argument("isos", nargs="+", type=Path, help="isosurface meshes (VTP with 'label'), e.g. `surface "
                                                          "mesh` of `surface extract --method iso` clouds")
    split.add_argument("--mids", nargs="+", type=Path, required=True,
                       help="the matching mid-surface (medial) meshes with oriented Normals, same order")
    split.add_argument("--depth", type=positive_int, default=8, help="Poisson octree depth (default %(default)s)")
    split.add_argument("--out", required=True, type=Path, help="output folder")
    split.add_argument("--quiet", action="store_true", help="no progress output")
    split.set_defaults(handler=run_split)


def read_sidecar(mask_path):
    """The crop's sidecar (origin, ROI, source) or defaults for a plain mask."""
    sidecar = Path(mask_path).with_suffix(".json")
    if sidecar.is_file():
        return json.loads(sidecar.read_text())
    return {"source": str(mask_path), "roi": 0, "origin_nm": [0.0, 0.0, 0.0]}


def run_restrict(args):
    from ..io import atomic_output, check_volume, ensure_output_dir, mrc_stem, new_mrc_memmap, open_mrc
    from .restrict import CleanParameters, origin_nm, restrict_to_rois

    if args.rois and len(args.rois) != len(args.membranes):
        raise EngineError(f"give one ROI map per membrane file: {len(args.membranes)} membrane files, "
                          f"{len(args.rois)} ROI maps")
    params = CleanParameters(closing_nm=args.closing, opening_nm=args.opening, min_volume_nm3=args.min_volume)
    out = ensure_output_dir(args.out)
    rois_for = dict(zip(args.membranes, args.rois or [None] * len(args.membranes)))

    def work(path):
        with contextlib.ExitStack() as stack:
            membranes, voxel_size = stack.enter_context(open_mrc(path, args.voxel_size))
            check_volume(membranes, path, labels=True)
            rois = None
            if rois_for[path] is not None:
                rois = stack.enter_context(open_mrc(rois_for[path], voxel_size)).data
                check_volume(rois, rois_for[path], labels=True)
            items, problems = restrict_to_rois(membranes, rois, voxel_size / 10.0, params, args.labels, str(path))
        for item in items:
            name = f"{mrc_stem(path)}_roi{item.roi}"
            sidecar = {"source": str(path), "roi": item.roi, "voxel_size": voxel_size,
                       "origin_nm": origin_nm(item.offset_zyx, voxel_size / 10.0).tolist(),
                       "labels": {str(k): v for k, v in item.voxels.items()}}
            # the sidecar first: a crop never exists without its origin, even if the run is killed here
            with atomic_output(out / f"{name}.json") as tmp:
                tmp.write_text(json.dumps(sidecar, indent=1))
            with new_mrc_memmap(out / f"{name}.mrc", item.shape, voxel_size, np.int16) as data:
                item.fill(data)
        if not items:
            raise EngineError("; ".join(problems))
        skipped = f"; {len(problems)} skipped: " + "; ".join(problems) if problems else ""
        return f"{path.name}: {len(items)} ROI crops{skipped}"
    return for_each_input("surface restrict", args.membranes, args.quiet, work)


def run_extract(args):
    from ..io import PointCloud, check_volume, ensure_output_dir, mrc_stem, open_mrc, write_ply
    from .extract import extract_cloud

    out = ensure_output_dir(args.out)

    def work(path):
        sidecar = read_sidecar(path)
        with open_mrc(path, args.voxel_size) as (labels, voxel_size):
            check_volume(labels, path, labels=True)
            points, normals, label, info = extract_cloud(
                labels, voxel_size / 10.0, args.method, origin_nm=sidecar["origin_nm"], spacing_nm=args.spacing,
                radius_nm=args.radius, adaptive=args.adaptive, upsample=args.upsample, min_area_nm2=args.min_area,
                source=str(path))
        properties = {"label": label, "roi": np.full(len(points), int(sidecar["roi"]))}
        write_ply(out / f"{mrc_stem(path)}_{args.method}.ply", PointCloud(points, normals, properties))
        counts = ", ".join(f"label {k}: {v['points']} points" for k, v in info["labels"].items())
        notes = "".join("; " + line for line in info["problems"] + info["warnings"])
        return f"{path.name}: {counts}{notes}"
    return for_each_input("surface extract", args.masks, args.quiet, work)


def run_orient(args):
    from ..io import PointCloud, ensure_output_dir, read_ply, write_ply
    from .geometry import estimate_normals
    from .orient import OrientParameters, orient_normals

    out = ensure_output_dir(args.out)
    params = OrientParameters(method=args.method, convention=args.convention, neighbours=args.neighbours,
                              facing_weight=args.facing_weight, consensus_neighbours=args.consensus_neighbours)
    partner = read_ply(args.partner).points if args.partner else None

    def work(path):
        cloud = read_ply(path)
        normals = cloud.normals
        keep = np.ones(len(cloud.points), dtype=bool)
        if args.jet or normals is None:
            normals, keep = estimate_normals(cloud.points, source=str(path))
        points = cloud.points[keep]
        labels = cloud.properties.get("label", np.zeros(len(cloud.points), dtype=int))[keep]
        oriented, info = orient_normals(points, normals[keep], params, labels, partner, source=str(path))
        properties = {name: values[keep] for name, values in cloud.properties.items()}
        write_ply(out / f"{path.stem}_oriented.ply", PointCloud(points, oriented, properties))
        dropped = f", {int((~keep).sum())} degenerate points dropped" if (~keep).any() else ""
        return (f"{path.name}: {info['points']} points in {info['pieces']} connected pieces, "
                f"{info['facing_edges']} facing edges{dropped}")
    return for_each_input("surface orient", args.clouds, args.quiet, work)


def run_mesh(args):
    from ..io import Mesh, check_volume, ensure_output_dir, open_mrc, read_ply, write_vtp
    from .mesh import MeshParameters
    from .pipeline import mesh_labels

    if args.masks and len(args.masks) != len(args.clouds):
        raise EngineError(f"give one mask per cloud: {len(args.clouds)} clouds, {len(args.masks)} masks")
    out = ensure_output_dir(args.out)
    masks = dict(zip(args.clouds, args.masks or [None] * len(args.clouds)))
    params = MeshParameters(smoothing_steps=args.smooth, max_hole_edges=args.max_hole_edges)
    raise_problems(params.problems())

    def work(path):
        cloud = read_ply(path)
        labels = cloud.properties.get("label", np.zeros(len(cloud.points), dtype=int))
        with contextlib.ExitStack() as stack:
            crop = voxel_size = origin = None
            if masks[path] is not None:
                crop, voxel_size = stack.enter_context(open_mrc(masks[path], args.voxel_size))
                check_volume(crop, masks[path], labels=True)
                voxel_size /= 10.0
                origin = read_sidecar(masks[path])["origin_nm"]
            points, faces, info = mesh_labels(cloud.points, cloud.normals, labels, crop, origin, voxel_size,
                                              params, str(path))
        write_vtp(out / f"{path.stem}_mesh.vtp", Mesh(points, faces, {"Normals": cloud.normals, "label": labels}))
        return f"{path.name}: " + "; ".join(
            f"label {label}: {piece['faces']} faces ({piece['gap_faces_removed']} across gaps removed, "
            f"{piece['holes_filled']} holes closed), {piece['area_nm2']:.0f} nm²" for label, piece in info.items())
    return for_each_input("surface mesh", args.clouds, args.quiet, work)


def run_split(args):
    from ..io import Mesh, ensure_output_dir, read_vtp, write_vtp
    from .leaflets import poisson_proxy, split_leaflets

    if len(args.mids) != len(args.isos):
        raise EngineError(f"give one mid-surface mesh per isosurface: {len(args.isos)} isosurfaces, "
                          f"{len(args.mids)} mid-surfaces")
    out = ensure_output_dir(args.out)
    mids = dict(zip(args.isos, args.mids))

    def work(path):
        iso, mid = read_vtp(path), read_vtp(mids[path])
        iso_labels = iso.point_data.get("label", np.zeros(len(iso.points))).astype(int)
        mid_labels = mid.point_data.get("label", np.zeros(len(mid.points))).astype(int)
        missing = sorted(set(iso_labels.tolist()) - set(mid_labels.tolist()))
        if missing:
            raise EngineError(f"{mids[path]} has no mid-surface for label(s) {missing} of {path.name}")
        leaflet, keep, proxies, report = np.zeros(len(iso.points), dtype=np.int8), [], [], []
        for label in np.unique(iso_labels):
            mine, theirs = np.flatnonzero(iso_labels == label), mid_labels == label
            mid_normals = mid.point_data.get("Normals")
            proxy = poisson_proxy(mid.points[theirs], None if mid_normals is None else mid_normals[theirs],
                                  args.depth, source=f"{mids[path]}, label {label}")
            proxies.append(proxy + (label,))
            faces = iso.faces[np.isin(iso.faces, mine).all(axis=1)]
            index = np.full(len(iso.points), -1)
            index[mine] = np.arange(len(mine))
            sides, kept, info = split_leaflets(iso.points[mine], index[faces], *proxy)
            leaflet[mine] = sides
            keep.append(mine[kept])
            report.append(f"label {label}: {int((sides > 0).sum())} / {int((sides < 0).sum())} vertices "
                          f"(+1 / -1), {info['cut_faces']} triangles cut")
        iso.point_data.update(leaflet=leaflet)
        write_vtp(out / f"{path.stem}_leaflets.vtp", Mesh(iso.points, np.concatenate(keep), iso.point_data))
        offset, points, faces, normals, labels = 0, [], [], [], []
        for vertices, tri, proxy_normals, label in proxies:
            points.append(vertices), faces.append(tri + offset), normals.append(proxy_normals)
            labels.append(np.full(len(vertices), label))
            offset += len(vertices)
        write_vtp(out / f"{mids[path].stem}_proxy.vtp", Mesh(np.concatenate(points), np.concatenate(faces),
                                                            {"Normals": np.concatenate(normals),
                                                             "label": np.concatenate(labels)}))
        return f"{path.name}: " + "; ".join(report)
    return for_each_input("surface split", args.isos, args.quiet, work)
