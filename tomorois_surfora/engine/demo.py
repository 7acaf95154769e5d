"""The main job on the embedded synthetic data. It grows as stages land: today it generates both phantom
datasets (contact sites and invaginations) and summarises their ground truth."""
from pathlib import Path

from .synth import PhantomParameters, write_dataset


def run_demo(out_dir, n=2, seed=0, quiet=False):
    """Write ``n`` contact-site and ``n`` invagination phantoms under ``out_dir`` and print a summary.

    Returns
    -------
    dict
        The two dataset manifests, by kind.
    """
    out_dir = Path(out_dir)
    params = PhantomParameters()
    manifests = {}
    for kind in ("contacts", "invaginations"):
        manifests[kind] = write_dataset(kind, out_dir / kind, n, seed, params, quiet=quiet)
    print(f"{'dataset':<15}{'tomograms':>10}{'ROIs':>6}{'seconds':>9}  folder")
    for kind, manifest in manifests.items():
        rois = sum(item["rois"] for item in manifest["items"])
        seconds = sum(item["seconds"] for item in manifest["items"])
        print(f"{kind:<15}{manifest['n']:>10}{rois:>6}{seconds:>9.1f}  {(out_dir / kind).resolve()}")
    z, y, x = params.shape
    print(f"Phantoms ({x}×{y}×{z} voxels at {params.voxel_size:g} Å) with ground truth written under "
          f"{out_dir.resolve()}: <tsId>.mrc tomogram, <tsId>_membranes.mrc, <tsId>_rois.mrc, <tsId>.json.")
    return manifests
