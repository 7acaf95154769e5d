"""``tomorois-surfora view volume|surface`` and ``curate rois|cloud``: open a window, or with ``--screenshot``
render it off-screen to a PNG and exit (headless use, figures, tests)."""
from pathlib import Path

from ..errors import EngineError, InputError


def add_view_commands(subparsers, positive_float, positive_int):
    """Register ``view volume|surface`` and ``curate rois|cloud``."""
    view = subparsers.add_parser("view", help="look at tomograms, ROIs, clouds and meshes (napari, PyVista)",
                                 description="Viewers: napari for volumes, PyVista for clouds and meshes.")
    kinds = view.add_subparsers(dest="kind", metavar="{volume,surface}", required=True)

    volume = kinds.add_parser("volume", help="a tomogram with its maps in napari, in nm",
                              description="Open a tomogram in napari with any of its probability map, ROI label "
                                          "map, membrane mask and penalty mask as layers (same grid), in nm.")
    _add_volume_inputs(volume, positive_float)
    volume.add_argument("--membranes", type=Path, help="membrane mask or label map (MRC)")
    _add_screenshot(volume)
    volume.set_defaults(handler=run_view_volume)

    surface = kinds.add_parser("surface", help="a cloud (PLY) or mesh (VTP) in PyVista",
                               description="Show a point cloud with its normals, coloured by membrane label, or a "
                                           "mesh coloured by one of its arrays with a scalar bar in physical "
                                           "units; optionally with a membrane mask's isosurface and a tomogram "
                                           "section in the same nm frame.")
    surface.add_argument("file", type=Path, help="PLY point cloud or VTP mesh")
    surface.add_argument("--array", help="mesh array to colour by, e.g. distance_nm, mean_curvature, "
                                         "roughness_nm (default: membrane label)")
    surface.add_argument("--mask", type=Path, help="membrane mask (MRC; a `surface restrict` crop is placed by "
                                                   "its sidecar JSON)")
    surface.add_argument("--tomogram", type=Path, help="tomogram (MRC): one z-section is shown")
    surface.add_argument("--section", type=int, help="tomogram section to show (default: the middle one)")
    surface.add_argument("--voxel-size", type=positive_float, metavar="Å",
                         help="voxel size of --mask and --tomogram (default: their headers)")
    surface.add_argument("--no-normals", action="store_true", help="clouds: do not draw normal arrows")
    _add_screenshot(surface)
    surface.set_defaults(handler=run_view_surface)

    curate = subparsers.add_parser("curate", help="curate ROIs (napari) or cloud normals (PyVista)",
                                   description="Interactive curation; edits are saved to --out.")
    targets = curate.add_subparsers(dest="target", metavar="{rois,cloud}", required=True)
    rois = targets.add_parser("rois", help="annotate and curate ROIs in napari",
                              description="Paint, erase, re-extract (live threshold, minimum volume, opening, "
                                          "closing), delete or flag ROIs as false positives; Save writes "
                                          "OUT/<name>_rois.mrc and OUT/<name>_penalty.mrc, the inputs of "
                                          "`roi train --masks ... --penalty ...`.")
    _add_volume_inputs(rois, positive_float)
    rois.add_argument("--out", required=True, type=Path, help="output folder for the curated maps")
    _add_replay(rois, "<name>_edits.json")
    _add_screenshot(rois)
    rois.set_defaults(handler=run_curate_rois)

    cloud = targets.add_parser("cloud", help="curate a cloud's normals in PyVista",
                               description="Select points with a rectangle (r) or polygon (p), flip (f), flip "
                                           "whole labels (l), delete (x), relabel (1-9), undo (u), save (s) to "
                                           "OUT/<name>.ply with the input's properties.")
    cloud.add_argument("file", type=Path, help="oriented point cloud (PLY with normals)")
    cloud.add_argument("--out", required=True, type=Path, help="output folder for the curated PLY")
    _add_replay(cloud, "<name>.edits.json")
    _add_screenshot(cloud)
    cloud.set_defaults(handler=run_curate_cloud)


def _add_volume_inputs(parser, positive_float):
    parser.add_argument("tomogram", type=Path, help="tomogram (MRC)")
    parser.add_argument("--probabilities", type=Path,
                        help="ROI probability map (MRC, `roi predict`)")
    parser.add_argument("--rois", type=Path, help="ROI label map (MRC, `roi extract` or a curated one)")
    parser.add_argument("--penalty", type=Path, help="penalty mask (MRC): patterns flagged as false positives")
    parser.add_argument("--voxel-size", type=positive_float, metavar="Å", help="default: the tomogram's header")


def _add_replay(parser, name):
    parser.add_argument("--replay", type=Path, metavar="JSON",
                        help=f"apply the edits a curation session saved ({name}) to these inputs and save, without "
                             f"a window (reproduces or batch-applies a curation)")


def _read_edits(path):
    import json

    from ..io import _require_file

    try:
        return json.loads(_require_file(path).read_text())["edits"]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path}: not a curation edits file (JSON with an 'edits' list)") from None


def _add_screenshot(parser):
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="render off-screen to this PNG and exit instead of opening a window")


def _require_display(tool):
    from . import has_display

    if not has_display():
        raise EngineError(f"{tool} needs a display; on a machine without one run the command under "
                          f"`xvfb-run -a`")


def _load_volumes(args, membranes=None):
    from .volume_viewer import load_volume_set

    return load_volume_set(args.tomogram, args.probabilities, args.rois, membranes, args.penalty,
                           args.voxel_size)


def run_view_volume(args):
    from .volume_viewer import volume_viewer

    _require_display("napari")
    volumes = _load_volumes(args, args.membranes)
    viewer, _ = volume_viewer(volumes)
    return _finish_napari(viewer, args.screenshot)


def run_curate_rois(args):
    from .roi_curator import open_curator

    if args.replay is not None:
        return _replay_rois(args)
    _require_display("napari")
    volumes = _load_volumes(args)
    viewer, curator, _ = open_curator(volumes, args.out)
    code = _finish_napari(viewer, args.screenshot)
    if curator.saved_paths:
        print("saved " + " and ".join(str(p) for p in curator.saved_paths))
    return code


def _replay_rois(args):
    import numpy as np

    from .roi_edits import replay_edits, save_curation

    edits = _read_edits(args.replay)
    volumes = _load_volumes(args)
    labels = np.zeros(volumes.tomogram.shape, np.int32) if volumes.rois is None else volumes.rois.astype(np.int32)
    labels, penalty = replay_edits(labels, volumes.penalty, volumes.probabilities, volumes.voxel_size, edits)
    paths = save_curation(args.out, volumes.name, labels, penalty, volumes.voxel_size, edits)
    print(f"replayed {len(edits)} edits: {len(np.unique(labels)) - 1} ROIs, {int(np.count_nonzero(penalty))} penalty "
          f"voxels; saved " + " and ".join(str(p) for p in paths))
    return 0


def _finish_napari(viewer, screenshot):
    import napari

    from .volume_viewer import napari_screenshot

    return _finish(screenshot, lambda path: napari_screenshot(viewer, path), viewer.close, napari.run)


def _finish(screenshot, render, close, show):
    """Render to ``screenshot`` and close the window, or show it (until the user closes it); returns 0."""
    from ..io import ensure_output_dir

    if screenshot is not None:
        ensure_output_dir(Path(screenshot).resolve().parent)
        render(str(screenshot))
        close()
        print(f"wrote {screenshot}")
    else:
        show()
    return 0


def run_view_surface(args):
    import pyvista as pv

    from .surface_scene import add_cloud, add_context, add_mesh

    plotter = pv.Plotter(off_screen=args.screenshot is not None, title=f"SurfORA: {args.file.name}")
    suffix = args.file.suffix.lower()
    if suffix == ".ply":
        from ..io import read_ply
        if args.array:
            raise InputError(f"{args.file}: --array colours meshes (VTP); a cloud is coloured by label")
        add_cloud(plotter, read_ply(args.file), arrows=not args.no_normals)
    elif suffix == ".vtp":
        from ..io import read_vtp
        add_mesh(plotter, read_vtp(args.file), args.array)
    else:
        raise InputError(f"{args.file}: expected a .ply cloud or a .vtp mesh")
    mask, tomogram, voxel_size, origin = _context(args)
    add_context(plotter, mask, tomogram, voxel_size, args.section, origin)
    plotter.add_axes()
    return _finish_pyvista(plotter, args.screenshot)


def _context(args):
    """The optional mask and tomogram of ``view surface`` with their voxel size and the mask's origin (nm)."""
    from ..io import read_mrc
    from ..surface.commands import read_sidecar

    mask = tomogram = voxel_size = None
    origin = (0.0, 0.0, 0.0)
    if args.mask is not None:
        mask, voxel_size = read_mrc(args.mask, args.voxel_size)
        origin = tuple(read_sidecar(args.mask)["origin_nm"])
    if args.tomogram is not None:
        tomogram, tomogram_voxel = read_mrc(args.tomogram, args.voxel_size)
        if voxel_size is not None and abs(tomogram_voxel - voxel_size) > 1e-3 * voxel_size:
            raise InputError(f"{args.tomogram}: voxel size {tomogram_voxel:g} Å differs from the mask's "
                             f"{voxel_size:g} Å")
        voxel_size = tomogram_voxel
    return mask, tomogram, voxel_size, origin


def _finish_pyvista(plotter, screenshot):
    return _finish(screenshot, plotter.screenshot, plotter.close, plotter.show)


def run_curate_cloud(args):
    from ..io import ensure_output_dir, read_ply
    from .cloud_curator import open_cloud_curator

    out = ensure_output_dir(args.out) / args.file.name
    if out.resolve() == args.file.resolve():
        raise InputError(f"{args.file}: --out is the input's folder; choose another so the input is kept")
    if args.replay is not None:
        from .cloud_edits import CloudCuration

        curation = CloudCuration(read_ply(args.file))
        edits = _read_edits(args.replay)
        curation.replay(edits)
        curation.save(out)
        print(f"replayed {len(edits)} edits: {int(curation.kept.sum())} of {len(curation.points)} points kept; "
              f"saved {out}")
        return 0
    curator = open_cloud_curator(read_ply(args.file), out, off_screen=args.screenshot is not None)
    if args.screenshot is not None:
        curator.plotter.add_axes()
        return _finish_pyvista(curator.plotter, args.screenshot)
    curator.show()
    return 0
