"""Tiled inference over whole tomograms, with overlapping tiles blended by smooth weights.

The network is fully convolutional, but a whole tomogram's feature buffer (``1 + depth`` maps) would not fit
in memory. Tiles overlap by ``overlap`` voxels; each tile's probabilities are weighted by a window that falls
smoothly to nearly zero at the tile's edges (where the zero padding distorts the output), and every voxel
gets the weighted mean. Sections are finished in order and handed to the output as soon as no later tile
touches them, so the accumulators hold one slab of tiles, not the volume. A 2D model trained on several
section planes labels the volume once per plane (see :mod:`.planes`) and averages; with ``mirrored``,
every plane is also labelled in three mirrored copies (test-time augmentation). Both need two more
model-grid volumes in memory.
"""
import os
import time
from dataclasses import dataclass

import numpy as np

from ..cores import available_cores
from ..errors import InputError, raise_problems
from ..progress import Progress
from .planes import mean_over_passes
from .sections import SectionChannels


# Mirrorings averaged with ``mirrored``: none, a 180° turn in the section plane, and flips of the section axis
# with the rows or the columns; the missing wedge is symmetric under each, so each is a valid view.
MIRROR_AXES = ((), (1, 2), (0, 1), (0, 2))


@dataclass
class TileParameters:
    """How to run the network over a volume: tile side and overlap in voxels of the model's grid, and
    whether to average mirrored copies.

    2D models read whole sections up to ``tile`` (512) on a side; 3D models read tiles of ``tile_3d`` (128)
    in x and y and ``tile_z`` (48) in z. Each tile's feature buffer holds (1 + depth) maps: at depth 50,
    53 MB for a 512² section, 160 MB for a 48×128² block. ``mirrored`` averages the network's output over
    the volume and three mirrored copies (``MIRROR_AXES``), at 4× the time.
    """

    tile: int = 512
    overlap: int = 48
    tile_z: int = 48
    overlap_z: int = 12
    tile_3d: int = 128
    mirrored: bool = False

    def problems(self):
        found = []
        if min(self.tile, self.tile_3d) < 16 or self.tile_z < 4:
            found.append(f"tiles must be at least 16 (z: 4) voxels, got {self.tile} (z: {self.tile_z})")
        if not 0 <= self.overlap < min(self.tile, self.tile_3d) // 2 or not 0 <= self.overlap_z < self.tile_z // 2:
            found.append("overlap must be 0 or more and less than half the tile")
        return found


def tile_layout(size, tile, overlap):
    """Length and start indices of the fewest tiles of at most ``tile`` voxels that cover ``size`` with at
    least ``overlap`` voxels in common; tiles are shrunk to share the length evenly (less wasted overlap)."""
    if size <= tile:
        return size, [0]
    count = int(np.ceil((size - overlap) / (tile - overlap)))
    length = int(np.ceil((size + (count - 1) * overlap) / count))
    starts = [int(round(i * (size - length) / (count - 1))) for i in range(count)]
    return length, starts


def blend_window(length, overlap, at_start, at_end):
    """1D weights: a raised-cosine ramp over ``overlap`` voxels at inner tile edges, 1 elsewhere (> 0)."""
    w = np.ones(length, np.float32)
    if overlap > 0:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)).astype(np.float32)
        ramp = np.maximum(ramp, 1e-3)
        if not at_start:
            w[:overlap] = ramp
        if not at_end:
            w[-overlap:] = np.minimum(w[-overlap:], ramp[::-1])
    return w


def choose_device(name="auto"):
    """'auto' → 'cuda' when a GPU is usable, else 'cpu'; 'cuda' without a GPU is an error."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available to PyTorch here")
    if name not in ("cpu", "cuda"):
        raise InputError(f"device must be auto, cpu or cuda, got {name!r}")
    return name


def use_all_cores(threads=None):
    """Let PyTorch use ``threads`` (default: every core this process may run on)."""
    import torch

    torch.set_num_threads(max(1, int(threads or available_cores())))
    return torch.get_num_threads()


def predict_array(model, image, out, tiles=None, device="cpu", progress=None):
    """Write ROI probabilities for ``image`` (standardised, on the model's grid) into ``out`` (same shape).

    ``out`` may be a memmap; it is written in order of sections. Returns the seconds spent.
    """
    tiles = tiles or TileParameters()
    raise_problems(tiles.problems())
    planes = tuple(model.planes) if model.dims == 2 else ("xy",)
    passes = [(plane, axes) for plane in planes for axes in (MIRROR_AXES if tiles.mirrored else [()])]
    if passes == [("xy", ())]:
        return _predict_sections(model, image, out, tiles, device, progress)
    started = time.perf_counter()
    mean_over_passes(image, out, passes, lambda view, result, description: _predict_sections(
        model, view, result, tiles, device, progress, label=f"{description}: "))
    return time.perf_counter() - started


def _predict_sections(model, image, out, tiles, device, progress, label=""):
    """:func:`predict_array` for one plane: ``image``'s first axis is the section axis of 2D models."""
    import torch

    net, dims = model.net.to(device).eval(), model.dims
    depth, rows, cols = image.shape
    side = tiles.tile if dims == 2 else tiles.tile_3d
    z_layout = tile_layout(depth, tiles.tile_z, tiles.overlap_z) if dims == 3 else (1, list(range(depth)))
    oz = tiles.overlap_z if dims == 3 else 0
    y_layout, x_layout = tile_layout(rows, side, tiles.overlap), tile_layout(cols, side, tiles.overlap)
    channels = SectionChannels(image, model.context, model.far_context) if dims == 2 else None
    tz, ty, tx = z_layout[0], y_layout[0], x_layout[0]

    def tile(z0, y0, x0):
        block = _input_block(image, channels, z0, tz, y0, ty, x0, tx)
        logits = net(torch.from_numpy(block).to(device))
        return torch.sigmoid(logits)[0].float().cpu().numpy().reshape(tz, ty, tx)

    with torch.inference_mode():
        return blend_tiles(tile, out, (z_layout, y_layout, x_layout), (oz, tiles.overlap), progress, label)


def blend_tiles(tile, out, layouts, overlaps, progress=None, label=""):
    """Fill ``out`` (sections, rows, columns) with the blended outputs of overlapping tiles.

    Parameters
    ----------
    tile : callable
        ``tile(z0, y0, x0)`` returns the (tz, ty, tx) output of the tile starting there.
    layouts : three (length, starts) pairs
        The tiles along z, y and x (see :func:`tile_layout`).
    overlaps : (int, int)
        Overlap in z and in y–x, over which :func:`blend_window` ramps the weights.

    Sections are written to ``out`` in order as soon as no later tile touches them, so the accumulators hold
    one slab of tiles. Returns the seconds spent.
    """
    (tz, z_starts), (ty, y_starts), (tx, x_starts) = layouts
    oz, oyx = overlaps
    depth, rows, cols = out.shape
    acc = np.zeros((tz, rows, cols), np.float32)
    weights = np.zeros((tz, rows, cols), np.float32)
    started = time.perf_counter()
    if progress is not None:
        progress.advance(0, depth, "sections", label)
    for zi, z0 in enumerate(z_starts):
        wz = blend_window(tz, oz, zi == 0, zi == len(z_starts) - 1)
        for yi, y0 in enumerate(y_starts):
            wy = blend_window(ty, oyx, yi == 0, yi == len(y_starts) - 1)
            for xi, x0 in enumerate(x_starts):
                wx = blend_window(tx, oyx, xi == 0, xi == len(x_starts) - 1)
                w = wz[:, None, None] * wy[None, :, None] * wx[None, None, :]
                acc[:, y0:y0 + ty, x0:x0 + tx] += tile(z0, y0, x0) * w
                weights[:, y0:y0 + ty, x0:x0 + tx] += w
        done = (z_starts[zi + 1] - z0) if zi + 1 < len(z_starts) else tz
        out[z0:z0 + done] = acc[:done] / weights[:done]
        acc, weights = shift_sections(acc, done), shift_sections(weights, done)
        if progress is not None:
            progress.advance(z0 + done, depth, "sections", label)
    return time.perf_counter() - started


def shift_sections(array, by):
    """Drop the first ``by`` sections and append zeroed ones (the slab moves on)."""
    if by >= len(array):
        array[:] = 0
        return array
    array[:-by] = array[by:]
    array[-by:] = 0
    return array


def _input_block(image, channels, z0, tz, y0, ty, x0, tx):
    if channels is not None:
        block = channels(z0, slice(y0, y0 + ty), slice(x0, x0 + tx))
        return np.ascontiguousarray(block[None], dtype=np.float32)
    return np.ascontiguousarray(image[None, None, z0:z0 + tz, y0:y0 + ty, x0:x0 + tx], dtype=np.float32)


def probability_file_name(tomogram):
    """Name of the probability map ``roi predict`` writes for ``tomogram``: ``<stem>_prob.mrc``."""
    from ..io import mrc_stem

    return f"{mrc_stem(tomogram)}_prob.mrc"


def predict_file(model, tomogram, output, voxel_size=None, tiles=None, device="cpu", quiet=False):
    """Predict ROI probabilities for an MRC tomogram and write them to ``output`` (float32 MRC, same grid).

    The tomogram is read a few sections at a time, standardised and resampled to the model's voxel size;
    the probabilities are resampled back and written section by section into a memory-mapped file that
    appears only when complete.

    Returns
    -------
    dict
        Shape, voxel sizes, model-grid shape, seconds for the network and in total.
    """
    from ..io import new_mrc_memmap
    from .data import load_tomogram
    from .resample import resample_into

    started = time.perf_counter()
    progress = Progress(f"roi predict {os.path.basename(str(tomogram))}", 1, quiet=quiet)
    image, (shape, size, _) = load_tomogram(tomogram, model.voxel_size, voxel_size)
    grid = image.shape
    progress.info(f"{shape} at {size:g} Å → model grid {grid} at {model.voxel_size:g} Å")
    with new_mrc_memmap(output, shape, size) as out:
        if grid == tuple(shape):
            network_s = predict_array(model, image, out, tiles, device, progress)
        else:
            coarse = np.empty(image.shape, np.float32)
            network_s = predict_array(model, image, coarse, tiles, device, progress)
            del image
            resample_into(coarse, out)
    total = time.perf_counter() - started
    progress.step(f"wrote {output} in {total:.1f} s")
    return {"shape": list(shape), "voxel_size_A": size, "model_grid": list(grid),
            "model_voxel_size_A": model.voxel_size, "network_seconds": round(network_s, 2),
            "seconds": round(total, 2)}
