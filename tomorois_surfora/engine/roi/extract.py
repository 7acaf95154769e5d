"""From a probability map to individual ROIs: threshold, clean-up, connected components, watershed split.

Sizes are in nm (converted with the voxel size), so defaults mean the same at every binning.
"""
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.segmentation import relabel_sequential

from ..errors import InputError
from ..morphology import ball_closing, ball_opening, drop_small_labels, label_pieces, remove_small_pieces


@dataclass
class ExtractionParameters:
    """ROI extraction settings.

    threshold : confidence above which a voxel belongs to an ROI.
    opening_nm, closing_nm : radii of the ball used to open (remove thin spurs and specks) and close (fill
        small holes and cracks); 0 skips the step.
    min_volume_nm3 : components, and pieces of split components, smaller than this are dropped.
    split : split touching ROIs by a watershed of the distance transform.
    seed_depth_nm : a distance-transform maximum seeds its own ROI only if it stands this much above the
        saddle to any higher one (h-maxima), so elongated ROIs, whose ridge barely varies, stay whole.
    min_confidence : ROIs whose mean confidence is below this are dropped (0 keeps all). A network unsure
        of a pattern it has not learnt well gives it a lower mean than the ROIs it knows.
    """

    threshold: float = 0.5
    opening_nm: float = 2.0
    closing_nm: float = 2.0
    min_volume_nm3: float = 2000.0
    split: bool = True
    seed_depth_nm: float = 4.0
    min_confidence: float = 0.0


def smooth_mask(mask, voxel_size_nm, params):
    """Binary opening, then closing, of a boolean (z, y, x) mask."""
    mask = ball_opening(mask, params.opening_nm / voxel_size_nm)
    return ball_closing(mask, params.closing_nm / voxel_size_nm)


def label_smoothed(mask, voxel_size_nm, params):
    """ROI labels of a :func:`smooth_mask` result: pieces under the minimum volume dropped, touching ROIs
    split when ``params.split`` (slivers the split cuts off dropped as well)."""
    return labels_per_min_volume(mask, voxel_size_nm, params, [params.min_volume_nm3])[params.min_volume_nm3]


def labels_per_min_volume(mask, voxel_size_nm, params, min_volumes_nm3):
    """:func:`label_smoothed` for each minimum volume (nm³) in ``min_volumes_nm3``: {volume: labels}.

    A larger minimum volume only drops whole pieces, and a piece splits the same whatever else is kept, so
    the pieces are labelled (and split) once, for the smallest volume; calibration asks for several. Split
    labels need no second piece filter: every part of a piece under the volume is under it too.
    """
    per_voxel, smallest = voxel_size_nm ** 3, min(min_volumes_nm3)
    mask = remove_small_pieces(mask, smallest / per_voxel)
    if params.split:
        split = split_touching(mask, voxel_size_nm, params.seed_depth_nm)[0]
        return {volume: drop_small_labels(split, volume / per_voxel).astype(np.int32) for volume in min_volumes_nm3}
    out = {}
    for volume in min_volumes_nm3:
        kept = mask if volume == smallest else remove_small_pieces(mask, volume / per_voxel)
        out[volume] = label_pieces(kept)[0].astype(np.int32)
    return out


def split_touching(mask, voxel_size_nm, seed_depth_nm):
    """Label ``mask``'s components and split touching ROIs with a marker watershed of the distance map.

    Markers are the h-domes of the Euclidean distance transform (h = ``seed_depth_nm``), so a component
    is split only where a neck is at least that much narrower than the bodies on both sides. Each
    component is processed in its own bounding box, so the cost follows the ROIs, not the volume.
    """
    components, n_components = label_pieces(mask)
    labels = np.zeros(mask.shape, np.int32)
    next_label = 1
    for index, box in enumerate(ndimage.find_objects(components), start=1):
        box = tuple(slice(max(s.start - 1, 0), s.stop + 1) for s in box)
        component = components[box] == index
        pieces, n = _split_component(component, voxel_size_nm, seed_depth_nm)
        labels[box][component] = pieces[component] + (next_label - 1)
        next_label += n
    return labels, next_label - 1


def _split_component(component, voxel_size_nm, seed_depth_nm):
    """Watershed split of one connected component (a boolean crop): (labels 1..n, n)."""
    from skimage.morphology import local_maxima, reconstruction
    from skimage.segmentation import watershed

    distance = ndimage.distance_transform_edt(component) * voxel_size_nm
    # Reconstructing (distance - h) under distance flattens every dome of height < h into its surroundings
    # and each higher dome into one connected plateau. (skimage's h_maxima keeps only each dome's peak
    # voxels, which on a discretised ridge are several disconnected voxels: it would over-split rods.)
    domes = reconstruction(distance - seed_depth_nm, distance, method="dilation")
    markers, n_markers = ndimage.label(local_maxima(domes) & component)
    if n_markers <= 1:
        return component.astype(np.int32), 1
    # Every marker lies inside the component and keeps its label, so the result is labelled 1..n_markers.
    return watershed(-distance, markers, mask=component).astype(np.int32), n_markers


def roi_table(labels, probabilities, voxel_size_nm):
    """One record per ROI: label, voxels, volume (nm³), centroid (x, y, z nm), bbox (z, y, x), confidences.

    scikit-image's ``regionprops_table`` measures each ROI inside its own bounding box, so the cost follows
    the ROIs, not the volume.
    """
    from skimage.measure import regionprops_table

    table = regionprops_table(labels, probabilities, properties=("label", "area", "centroid", "bbox",
                                                                 "intensity_mean", "intensity_max"))
    records = []
    for i, label in enumerate(table["label"]):
        centroid_zyx = [table[f"centroid-{axis}"][i] for axis in range(3)]
        records.append({
            "label": int(label), "voxels": int(table["area"][i]),
            "volume_nm3": float(table["area"][i] * voxel_size_nm ** 3),
            "centroid_nm": [round(float(c) * voxel_size_nm, 3) for c in centroid_zyx[::-1]],
            "bbox_zyx": [[int(table[f"bbox-{axis}"][i]) for axis in range(3)],
                         [int(table[f"bbox-{axis + 3}"][i]) for axis in range(3)]],
            "mean_confidence": round(float(table["intensity_mean"][i]), 4),
            "max_confidence": round(float(table["intensity_max"][i]), 4)})
    return records


def extract_rois(probabilities, voxel_size, params=None, source="probability map"):
    """Turn a probability map into an ROI instance label map and a table of ROIs.

    Parameters
    ----------
    probabilities : ndarray (z, y, x)
        Per-voxel ROI confidence in [0, 1].
    voxel_size : float
        Voxel size in Å.
    params : ExtractionParameters, optional
    source : str
        Name used in error messages (e.g. the file name).

    Returns
    -------
    labels : ndarray of int32
        0 background, 1..n the ROIs.
    table : list of dict
        See :func:`roi_table`.
    """
    params = params or ExtractionParameters()
    probabilities = checked_probabilities(probabilities, source)
    if not 0 < params.threshold < 1:
        raise InputError(f"threshold must be between 0 and 1, got {params.threshold:g}")
    if not 0 <= params.min_confidence < 1:
        raise InputError(f"minimum mean confidence must be in [0, 1), got {params.min_confidence:g}")
    voxel_size_nm = voxel_size / 10.0
    labels = label_smoothed(smooth_mask(probabilities > params.threshold, voxel_size_nm, params), voxel_size_nm,
                            params)
    labels = drop_unsure_labels(labels, probabilities, params.min_confidence)
    return labels, roi_table(labels, probabilities, voxel_size_nm)


def checked_probabilities(probabilities, source):
    """``probabilities`` as float32, or an :class:`InputError` naming ``source`` if they are not a 3D map of
    finite values in [0, 1]."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim != 3:
        raise InputError(f"{source}: expected a 3D (z, y, x) map, got shape {probabilities.shape}")
    if not np.all(np.isfinite(probabilities)):
        raise InputError(f"{source}: contains NaN or infinite values")
    if probabilities.min() < -1e-6 or probabilities.max() > 1 + 1e-6:
        raise InputError(f"{source}: values must be probabilities in [0, 1], found "
                         f"{probabilities.min():g}..{probabilities.max():g}")
    return probabilities


def drop_unsure_labels(labels, probabilities, min_confidence):
    """Remove labels whose mean probability is below ``min_confidence`` and renumber the rest 1..n in order
    (``labels`` itself when ``min_confidence`` is 0 or there are no labels)."""
    if min_confidence <= 0 or labels.max() == 0:
        return labels
    index = np.arange(1, int(labels.max()) + 1)
    means = np.asarray(ndimage.mean(probabilities, labels, index))
    keep = np.concatenate([[False], means >= min_confidence])
    return relabel_sequential(np.where(keep[labels], labels, 0))[0]
