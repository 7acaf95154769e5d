"""Rasterise a :class:`~.layout.Scene` into a clean density and ground-truth label volumes.

Each object is evaluated only inside its own bounding box, so the cost follows the objects' size rather
than the tomogram's.
"""
import numpy as np


def voxel_box(lo_nm, hi_nm, shape, voxel_size_nm):
    """Voxel index slices (z, y, x) covering the nm box ``lo``–``hi`` (x, y, z), clipped to ``shape``.

    Returns None when the box misses the volume.
    """
    lo_idx = np.floor(np.asarray(lo_nm) / voxel_size_nm).astype(int)
    hi_idx = np.ceil(np.asarray(hi_nm) / voxel_size_nm).astype(int) + 1
    slices = []
    for axis_xyz in (2, 1, 0):
        size = shape[2 - axis_xyz]
        start, stop = max(lo_idx[axis_xyz], 0), min(hi_idx[axis_xyz], size)
        if stop <= start:
            return None
        slices.append(slice(start, stop))
    return tuple(slices)


def box_coordinates(box, voxel_size_nm):
    """Open-grid (x, y, z) coordinates in nm of the voxel centres in ``box`` (x = column × voxel size)."""
    z = (np.arange(box[0].start, box[0].stop, dtype=np.float32) * voxel_size_nm)[:, None, None]
    y = (np.arange(box[1].start, box[1].stop, dtype=np.float32) * voxel_size_nm)[None, :, None]
    x = (np.arange(box[2].start, box[2].stop, dtype=np.float32) * voxel_size_nm)[None, None, :]
    return x, y, z


def render_scene(scene, shape, voxel_size_nm, bilayer):
    """Rasterise membranes and ROIs.

    Parameters
    ----------
    scene : Scene
    shape : tuple of int
        Volume shape (z, y, x).
    voxel_size_nm : float
    bilayer : BilayerModel

    Returns
    -------
    density : ndarray of float32
        Clean bilayer density (membranes positive).
    membranes : ndarray of int16
        Membrane instance labels (0 background), each voxel within ``label_thickness / 2`` of a mid-surface.
    rois : ndarray of int16
        ROI instance labels (0 background).
    """
    density = np.zeros(shape, dtype=np.float32)
    membranes = np.zeros(shape, dtype=np.int16)
    reach = max(bilayer.extent(), bilayer.label_thickness / 2)
    for membrane in scene.membranes:
        lo, hi = membrane.bounds()
        box = voxel_box(lo - reach, hi + reach, shape, voxel_size_nm)
        if box is None:
            continue
        sdf = membrane.sdf(*box_coordinates(box, voxel_size_nm))
        near = np.abs(sdf) <= bilayer.extent()
        density[box][near] += bilayer.density(sdf[near], voxel_size_nm)
        on_membrane = (np.abs(sdf) <= bilayer.label_thickness / 2) & (membranes[box] == 0)
        membranes[box][on_membrane] = membrane.label
    return density, membranes, rasterise_regions(scene.rois, shape, voxel_size_nm)


def rasterise_regions(regions, shape, voxel_size_nm):
    """Label volume (int16) of implicit regions (ROIs or decoys), each labelled ``region.label``; the
    first region claims voxels where two overlap."""
    labels = np.zeros(shape, dtype=np.int16)
    for region in regions:
        box = voxel_box(*region.bounds(), shape, voxel_size_nm)
        if box is None:
            continue
        inside = region.contains(*box_coordinates(box, voxel_size_nm)) & (labels[box] == 0)
        labels[box][inside] = region.label
    return labels


def add_particles(density, particles, voxel_size_nm, contrast=0.6):
    """Add dense particles (Gaussian blobs of ``contrast`` times a leaflet's peak) to ``density`` in place.

    ``particles`` is a list of (centre (x, y, z) nm, radius nm); each blob's σ is half its radius.
    """
    shape = density.shape
    for center, radius in particles:
        box = voxel_box(np.asarray(center) - 2 * radius, np.asarray(center) + 2 * radius, shape, voxel_size_nm)
        if box is None:
            continue
        x, y, z = box_coordinates(box, voxel_size_nm)
        r2 = (x - center[0]) ** 2 + (y - center[1]) ** 2 + (z - center[2]) ** 2
        density[box] += np.float32(contrast) * np.exp(-r2 / (2 * (radius / 2) ** 2)).astype(np.float32)
