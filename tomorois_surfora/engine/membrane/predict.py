"""Membrane probabilities for whole tomograms, or only inside ROI boxes: tiled 2.5D inference, bounded memory.

The network reads stacks of ``model.sections`` consecutive sections; stacks overlap by ``overlap_z``
sections and x–y tiles by ``overlap`` pixels, and each voxel gets the mean of its predictions weighted by
smooth windows (:func:`..roi.predict.blend_tiles`, shared with ROI prediction). Sections are finished in
order, so the accumulators hold one stack of tiles, not the volume. With ROI labels, only their bounding boxes plus a margin are segmented
(the seed's workflow, and the fast path); the rest of the map is 0.
"""
import os
import time
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from ..errors import InputError, raise_problems
from ..progress import Progress
from ..roi.planes import mean_over_passes, plane_problems
from ..roi.predict import blend_tiles, tile_layout
from ..sparse import slab_pieces


@dataclass
class MembraneTiles:
    """Tile side and overlap (pixels of the model grid), stack overlap (sections; at most half a stack), and
    the section planes to label: empty for all of the model's, or some of them (``("xy",)`` streams a
    tomogram a stack at a time, in bounded memory)."""

    tile: int = 256
    overlap: int = 32
    overlap_z: int = 2
    planes: tuple = ()

    def problems(self):
        found = []
        if self.tile < 32:
            found.append(f"tile must be at least 32 pixels, got {self.tile}")
        if not 0 <= self.overlap < self.tile // 2:
            found.append("overlap must be 0 or more and less than half the tile")
        if self.overlap_z < 0:
            found.append(f"section overlap must be 0 or more, got {self.overlap_z}")
        if self.planes:
            found += plane_problems(self.planes)
        return found

    def planes_of(self, model):
        """The planes to label with ``model``: ``planes`` when given (each must be one of the model's)."""
        if not self.planes:
            return tuple(model.planes)
        unknown = [plane for plane in self.planes if plane not in model.planes]
        if unknown:
            raise InputError(f"{model.source or 'the model'} reads {'/'.join(model.planes)} sections, not "
                             f"{'/'.join(unknown)}")
        return tuple(self.planes)

    def section_overlap(self, sections):
        """The stacks' overlap for a model of ``sections``: ``overlap_z``, at most (sections − 1) // 2."""
        return min(self.overlap_z, max(0, (sections - 1) // 2))


def _padded(block, multiple):
    """``block`` (sections, h, w) reflect-padded at the end to multiples of ``multiple``, and the pad sizes."""
    pad_y, pad_x = (-block.shape[1]) % multiple, (-block.shape[2]) % multiple
    if pad_y or pad_x:
        mode = "reflect" if min(block.shape[1:]) > max(pad_y, pad_x) else "edge"
        block = np.pad(block, ((0, 0), (0, pad_y), (0, pad_x)), mode=mode)
    return block


def predict_membranes_array(model, image, out, tiles=None, device="cpu", progress=None, label=""):
    """Write membrane probabilities for ``image`` (preprocessed, model grid) into ``out`` (same shape).

    A model of several section planes labels the volume once per plane (``image`` must then be an array)
    and ``out`` gets the mean. Returns the seconds spent.
    """
    tiles = tiles or MembraneTiles()
    raise_problems(tiles.problems())
    planes = tiles.planes_of(model)
    if planes == ("xy",):
        return _predict_plane(model, image, out, tiles, device, progress, label)
    seconds = []
    mean_over_passes(np.asarray(image), out, [(plane, ()) for plane in planes],
                     lambda view, result, description: seconds.append(_predict_plane(
                         model, view, result, tiles, device, progress, f"{label}{description}: ")))
    return sum(seconds)


def _predict_plane(model, image, out, tiles, device, progress, label):
    """Tiled probabilities of the stacks of sections along ``image``'s first axis into ``out``."""
    import torch

    net = model.net.to(device).eval()
    depth, rows, cols = image.shape
    sections = min(model.sections, depth)
    overlap_z = tiles.section_overlap(sections)
    layouts = (tile_layout(depth, sections, overlap_z), tile_layout(rows, tiles.tile, tiles.overlap),
               tile_layout(cols, tiles.tile, tiles.overlap))
    (tz, _), (ty, _), (tx, _) = layouts

    def tile(z0, y0, x0):
        block = _padded(image[z0:z0 + tz, y0:y0 + ty, x0:x0 + tx], model.net.multiple)
        logits, _ = net(torch.from_numpy(np.ascontiguousarray(block[None])).to(device))
        return torch.sigmoid(logits[0, :, :ty, :tx]).float().cpu().numpy()

    with torch.inference_mode():
        return blend_tiles(tile, out, layouts, (overlap_z, tiles.overlap), progress, label)


def roi_boxes(rois, margin_voxels, factor=1.0, shape=None):
    """Bounding boxes (tuples of slices) of the nonzero labels of ``rois`` on a grid with ``factor`` voxels
    per voxel of ``rois``, grown by ``margin_voxels`` (of that grid) and clipped to ``shape``. Overlapping
    boxes are merged."""
    boxes = []
    for found in ndimage.find_objects(np.asarray(rois).astype(np.int64, copy=False)):
        if found is None:
            continue
        lo = [int(np.floor(s.start * factor)) - margin_voxels for s in found]
        hi = [int(np.ceil(s.stop * factor)) + margin_voxels for s in found]
        boxes.append([lo, hi])
    while True:
        pair = next(((i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
                     if _overlap(boxes[i], boxes[j])), None)
        if pair is None:
            break
        (lo_a, hi_a), (lo_b, hi_b) = boxes[pair[0]], boxes.pop(pair[1])
        boxes[pair[0]] = [list(map(min, lo_a, lo_b)), list(map(max, hi_a, hi_b))]
    shape = shape or tuple(np.asarray(rois).shape)
    return [tuple(slice(max(0, lo[k]), min(shape[k], hi[k])) for k in range(3)) for lo, hi in boxes]


def _overlap(a, b):
    """Whether boxes ``a`` and ``b`` ([lower corner, upper corner]) share a voxel."""
    return all(a[0][k] < b[1][k] and b[0][k] < a[1][k] for k in range(3))


def membrane_file_names(tomogram):
    """Output names for ``tomogram``: probability, binary mask and instance labels."""
    from ..io import mrc_stem

    stem = mrc_stem(tomogram)
    return {"probability": f"{stem}_membrane_prob.mrc", "mask": f"{stem}_membrane_mask.mrc",
            "labels": f"{stem}_membrane_labels.mrc"}


def membrane_pieces(mask, voxel_size_nm, min_volume_nm3):
    """Instance labels of the 26-connected pieces of ``mask`` of at least ``min_volume_nm3`` (int32), and
    their count."""
    pieces = slab_pieces(mask.shape, lambda z0, z1: mask[z0:z1], min_volume_nm3 / voxel_size_nm ** 3)
    labels = np.zeros(mask.shape, np.int32)
    for z0, part in pieces.slabs():
        labels[z0:z0 + len(part)] = part
    return labels, pieces.count


def predict_membrane_file(model, tomogram, out_dir, voxel_size=None, rois=None, margin_nm=10.0, threshold=0.5,
                          min_volume_nm3=500.0, tiles=None, device="cpu", quiet=False):
    """Segment membranes in an MRC tomogram; write probability, mask and instance labels to ``out_dir``.

    Memory follows one stack of sections, not the volume, when the tomogram is on the model's grid, EED is
    off and only x–y sections are labelled (``tiles.planes``): the tomogram is read memory-mapped and
    preprocessed a stack at a time, the probabilities are written into a memory-mapped file, and the membrane
    pieces are labelled slab by slab from it.

    Parameters
    ----------
    rois : path, optional
        ROI label map of the tomogram's shape: only the ROIs' bounding boxes plus ``margin_nm`` are segmented.
    threshold : float
        Probability above which a voxel is membrane.
    min_volume_nm3 : float
        Membrane pieces smaller than this are dropped from the mask and labels.

    Returns
    -------
    dict
        Output paths, shape, voxel sizes, seconds (network and total), membrane pieces, ROI boxes.
    """
    from ..roi.data import open_tomogram

    started = time.perf_counter()
    progress = Progress(f"membrane predict {os.path.basename(str(tomogram))}", 1, quiet=quiet)
    names = membrane_file_names(tomogram)
    paths = {key: os.path.join(str(out_dir), name) for key, name in names.items()}
    tiles = tiles or MembraneTiles()
    tiles = replace(tiles, planes=tiles.planes_of(model))
    with open_tomogram(tomogram, model.voxel_size, voxel_size) as (image, (shape, size, factor)):
        grid = tuple(image.shape)
        boxes = None if rois is None else _roi_boxes_of(rois, shape, grid, factor, margin_nm, model.voxel_size)
        if boxes == []:
            progress.info(f"{rois}: no ROI; nothing to segment")
        progress.info(f"{shape} at {size:g} Å → model grid {grid} at {model.voxel_size:g} Å, "
                      f"{model.preprocess.describe()}, {'/'.join(tiles.planes)} sections" + ("" if boxes is None else
                      f", {len(boxes)} ROI box(es), {_box_share(boxes, grid):.0%} of the volume"))
        network_s = _write_probability(model, image, boxes, paths["probability"], shape, size, tiles, device,
                                       progress)
    pieces, share = _write_pieces(str(tomogram), paths, size, threshold, min_volume_nm3)
    total = time.perf_counter() - started
    progress.step(f"{pieces} membrane pieces, {100 * share:.2f}% of voxels; wrote "
                  f"{names['probability']}, {names['mask']}, {names['labels']} in {total:.1f} s")
    return {"paths": paths, "shape": list(shape), "voxel_size_A": size, "model_grid": list(grid),
            "model_voxel_size_A": model.voxel_size, "network_seconds": round(network_s, 2),
            "seconds": round(total, 2), "pieces": pieces, "boxes": None if boxes is None else len(boxes)}


def _roi_boxes_of(rois, shape, grid, factor, margin_nm, model_voxel_size):
    """The ROI boxes of label map ``rois`` on the model's ``grid`` (see :func:`roi_boxes`)."""
    from ..io import open_mrc

    with open_mrc(rois, voxel_size=1.0) as (labels, _):
        if tuple(labels.shape) != tuple(shape):
            raise InputError(f"{rois}: ROI label shape {tuple(labels.shape)} does not match the tomogram's "
                             f"{tuple(shape)} (z, y, x)")
        return roi_boxes(np.asarray(labels), int(np.ceil(10 * margin_nm / model_voxel_size)), factor, grid)


def _write_probability(model, image, boxes, path, shape, size, tiles, device, progress):
    """Membrane probabilities of ``image`` (standardised, model grid; everywhere, or in ``boxes`` only) into a
    new MRC at ``path`` on the tomogram's grid ``shape``. Returns the network's seconds."""
    from ..io import new_mrc_memmap
    from ..roi.resample import resample_into
    from .preprocess import PreprocessedSections, preprocess

    grid = tuple(image.shape)
    with new_mrc_memmap(path, shape, size) as out:
        # on the tomogram's own grid the network writes into the output file; else into a model-grid copy
        probability = out if grid == tuple(shape) else np.empty(grid, np.float32)
        network_s = 0.0
        if boxes is None:
            # EED and other planes than x–y need the volume, not a few sections
            whole = model.preprocess.eed or tiles.planes != ("xy",)
            stacks = (preprocess(np.asarray(image), model.preprocess, copy=False) if whole
                      else PreprocessedSections(image, model.preprocess))
            network_s = predict_membranes_array(model, stacks, probability, tiles, device, progress)
        else:
            probability[:] = 0
            for index, box in enumerate(boxes):
                crop = preprocess(image[box], model.preprocess)
                part = np.empty(crop.shape, np.float32)
                seconds = predict_membranes_array(model, crop, part, tiles, device)
                network_s += seconds
                probability[box] = np.maximum(probability[box], part)
                progress.info(f"box {index + 1}/{len(boxes)}: {'×'.join(map(str, part.shape))} voxels in "
                              f"{seconds:.1f} s")
        if probability is not out:
            resample_into(probability, out)
    return network_s


def _write_pieces(source, paths, size, threshold, min_volume_nm3):
    """Threshold the probability file, label its membrane pieces slab by slab and write the mask and label
    files. Returns the number of pieces and the share of voxels in them."""
    from ..io import new_mrc_memmap, open_mrc

    with open_mrc(paths["probability"], voxel_size=size) as (probability, _):
        shape = probability.shape
        pieces = slab_pieces(shape, lambda z0, z1: np.asarray(probability[z0:z1]) >= threshold,
                             min_volume_nm3 / (size / 10) ** 3)
        if pieces.count > 65535:
            raise InputError(f"{source}: {pieces.count} membrane pieces do not fit an MRC label map (at most "
                             "65535); raise the threshold or the minimum piece volume")
        dtype = np.int16 if pieces.count <= 32767 else np.uint16
        with new_mrc_memmap(paths["mask"], shape, size, np.int8) as mask, \
                new_mrc_memmap(paths["labels"], shape, size, dtype) as labels:
            for z0, part in pieces.slabs():
                labels[z0:z0 + len(part)] = part
                mask[z0:z0 + len(part)] = part > 0
    return pieces.count, float(pieces.voxels.sum()) / max(1, int(np.prod(shape)))


def _box_share(boxes, grid):
    """The share of the volume ``grid`` that ``boxes`` cover."""
    return sum(int(np.prod([s.stop - s.start for s in box])) for box in boxes) / max(1, int(np.prod(grid)))
