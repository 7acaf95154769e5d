"""Random training patches: sections (2D, with neighbouring sections as channels) or cubes (3D).

Patch centres are drawn from ROI voxels with probability ``foreground``, from penalty-mask voxels with
probability ``on_penalty`` (when a penalty mask exists), from *near misses* with probability ``near_miss``,
else uniformly; ROIs are small, and sampling them evenly would show the network almost no positives. Near
misses are the voxels within ``near_reach`` sections above or below an ROI but outside it: the sections just
past an ROI's top and bottom, where a 2D net must learn that the ROI has ended although the same membranes
still run through the section. 2D models may read sections of several planes (see
:mod:`.planes`); each batch comes from one plane, chosen at random. Training patches get random flips along
every axis, and x–y patches also random 90° rotations; the missing wedge makes z special, so z is never
swapped with x or y. With ``any_angle``, x–y patches are also turned by a random angle in [0°, 90°): four
quarter turns show a membrane that crosses every training tomogram diagonally only diagonally, and a 2D net
does not generalise from that to one that runs along x or y. Such patches are cut from a window √2 wider
(:meth:`PatchSampler.wide_batch`), and :meth:`PatchSampler.tensor_batch` turns the whole batch at once on the
training device.
"""
import numpy as np
from scipy import ndimage

from .batch_turn import turn_batch, wide_side
from .blur_augment import blur_batch, blur_sigmas
from .planes import parse_planes, plane_axes, plane_view
from .sections import SectionChannels

MAX_CANDIDATES = 200_000


def section_channels(items, context, far_context=0, planes=("xy",)):
    """Per plane, one :class:`SectionChannels` per item: built once, shared by the training and validation
    samplers (the z sums of far slabs cost a volume's memory each)."""
    channels = {}
    for plane in parse_planes(planes):
        views = [plane_view(item.image, plane) for item in items]
        if plane != "xy":  # sections of a transposed view would be strided reads
            views = [np.ascontiguousarray(view) for view in views]
        channels[plane] = [SectionChannels(view, context, far_context) for view in views]
    return channels


class PatchSampler:
    """Draw (input, target, weight) batches from the rows ``[lo, hi)`` (y) of every item.

    Parameters
    ----------
    items : list of TrainingItem
    row_ranges : list of (int, int)
        Per item, the rows patches may use (the split between training and validation).
    dims : {2, 3}
    context, far_context : int
        Neighbouring sections and z-averaged slabs on each side as extra channels (2D; see :mod:`.sections`).
    patch : int
        Patch side in voxels; shrunk to fit the smallest item and row range.
    foreground, on_penalty : float
        Probabilities of centring a patch on an ROI voxel, or on a penalty voxel.
    penalty_weight : float
        Extra loss weight on penalty voxels: weight = 1 + penalty_weight there.
    positive_weight : float
        Loss weight on ROI voxels (background weighs 1), to balance the classes.
    near_miss : float
        Probability of centring a patch on a voxel within ``near_reach`` sections (z) of an ROI but outside it.
    near_reach : int
        How many sections above and below an ROI count as a near miss.
    planes : sequence of str
        2D: section planes to draw from (see :mod:`.planes`).
    channels : dict, optional
        2D: the items' channels from :func:`section_channels`, if already built.
    any_angle : bool
        2D, x–y sections: turn augmented patches by a random angle too, not only by quarter turns.
    turn_interpolation : str
        How images are interpolated when turned by any angle (see :data:`.batch_turn.INTERPOLATIONS`).
    blur_share, blur_sigma : float
        Probability that an augmented patch's image is blurred in-plane, and the largest Gaussian σ in voxels
        (see :mod:`.blur_augment`).
    """

    def __init__(self, items, row_ranges, dims, context, patch, foreground=0.5, on_penalty=0.25, penalty_weight=5.0,
                 positive_weight=1.0, far_context=0, planes=("xy",), channels=None, near_miss=0.0, near_reach=8,
                 any_angle=False, turn_interpolation="nearest", blur_share=0.0, blur_sigma=0.6):
        self.items, self.row_ranges, self.dims = items, row_ranges, dims
        self.blur_share, self.blur_sigma = blur_share, blur_sigma
        self.any_angle = any_angle and dims == 2
        self.turn_interpolation = turn_interpolation
        self.planes = parse_planes(planes) if dims == 2 else ("xy",)
        if dims == 2:
            self._channels = channels or section_channels(items, context, far_context, self.planes)
        self.foreground, self.on_penalty, self.penalty_weight = foreground, on_penalty, penalty_weight
        self.positive_weight, self.near_miss = positive_weight, near_miss
        self._sizes = [min(patch, min(hi - lo for lo, hi in self._bounds_per_item(axis))) for axis in range(3)]
        # Square in (y, x) whatever the row split leaves: augmentation rotates x-y patches by 90°.
        self._sizes[1] = self._sizes[2] = min(self._sizes[1:])
        self.patch_z = self._sizes[0] if dims == 3 else 1
        self.patch_y, self.patch_x = self._sizes[1], self._sizes[2]
        seed_rng = np.random.default_rng(12345)
        self._roi_voxels = [self._candidates(item.target, seed_rng, rows) for item, rows in zip(items, row_ranges)]
        self._penalty_voxels = [None if item.penalty is None else self._candidates(item.penalty, seed_rng, rows)
                                for item, rows in zip(items, row_ranges)]
        self._near_voxels = [self._candidates(near_miss_mask(item.target, near_reach), seed_rng, rows)
                             if near_miss > 0 else None for item, rows in zip(items, row_ranges)]

    @property
    def patch(self):
        """(y, x) size of the patches."""
        return self.patch_y, self.patch_x

    def _bounds(self, index, axis):
        """Range of voxels along ``axis`` (of z, y, x) that patches of item ``index`` may use."""
        return self.row_ranges[index] if axis == 1 else (0, self.items[index].image.shape[axis])

    def _bounds_per_item(self, axis):
        return [self._bounds(index, axis) for index in range(len(self.items))]

    @staticmethod
    def _candidates(mask, rng, rows):
        coords = np.argwhere(mask[:, rows[0]:rows[1]])
        if len(coords) > MAX_CANDIDATES:
            coords = coords[rng.choice(len(coords), MAX_CANDIDATES, replace=False)]
        coords[:, 1] += rows[0]
        return coords if len(coords) else None

    def _centre(self, index, rng):
        roll = rng.random()
        pools = ((self.foreground, self._roi_voxels), (self.on_penalty, self._penalty_voxels),
                 (self.near_miss, self._near_voxels))
        limit = 0.0
        for share, pool in pools:
            limit += share
            # A missing pool passes its share on to the next one, and finally to uniform sampling.
            if roll < limit and pool[index] is not None:
                return pool[index][rng.integers(len(pool[index]))]
        lo, hi = self.row_ranges[index]
        shape = self.items[index].image.shape
        return np.array([rng.integers(shape[0]), rng.integers(lo, hi), rng.integers(shape[2])])

    def _window(self, centre, size, lo, hi):
        size = min(size, hi - lo)
        start = int(np.clip(centre - size // 2, lo, hi - size))
        return slice(start, start + size)

    def sample(self, index, rng, augment=True, plane="xy", wide=False):
        """One patch from item ``index``: input (C, [D,] H, W), target and weight (1, [D,] H, W), float32.

        2D patches are sections of ``plane``: (rows, columns) are (y, x), (z, x) or (z, y). ``wide`` (2D, x–y
        only) cuts the window to turn by any angle instead, :func:`.batch_turn.wide_side` on each side
        (mirrored where the tomogram is narrower).
        """
        item = self.items[index]
        centre = self._centre(index, rng)
        axes = plane_axes(plane)
        sizes = [self._sizes[axis] if not wide or k == 0 else wide_side(self._sizes[axis])
                 for k, axis in enumerate(axes)]
        window = [self._window(centre[axis], size, *self._bounds(index, axis)) for axis, size in zip(axes, sizes)]
        if self.dims == 2:
            section = int(centre[axes[0]])
            image = self._channels[plane][index](section, window[1], window[2])
            window[0] = slice(section, section + 1)
        else:
            image = item.image[tuple(window)][None]
        index_in_view = tuple(window)
        target = plane_view(item.target, plane)[index_in_view].astype(np.float32)
        weight = 1 + (self.positive_weight - 1) * target
        if item.penalty is not None:
            weight += self.penalty_weight * plane_view(item.penalty, plane)[index_in_view]
        if self.dims == 3:
            target, weight = target[None], weight[None]
        arrays = [image, target, weight]
        if wide:
            arrays = [_mirror_to(a, sizes[1:]) for a in arrays]
        if augment:
            arrays = _augment(arrays, rng) if plane == "xy" else _flip_every_axis(arrays, rng)
        return [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]

    def wide_batch(self, size, rng, augment=True):
        """``size`` patches of one random plane, stacked (N, C, ...), and the angles to turn them by.

        The angles are None unless the patches are to be turned by any angle (``any_angle``, augmented x–y
        patches); then the patches are :func:`.batch_turn.wide_side` wide, for :func:`.batch_turn.turn_batch`.
        """
        plane = self.planes[int(rng.integers(len(self.planes)))] if len(self.planes) > 1 else "xy"
        wide = augment and self.any_angle and plane == "xy"
        samples = [self.sample(int(rng.integers(len(self.items))), rng, augment, plane, wide) for _ in range(size)]
        return [np.stack(parts) for parts in zip(*samples)], (rng.uniform(0.0, 90.0, size) if wide else None)

    def tensor_batch(self, size, rng, augment=True, device="cpu"):
        """:meth:`batch` as torch tensors on ``device``, turned there when patches are turned by any angle."""
        import torch

        arrays, angles = self.wide_batch(size, rng, augment)
        tensors = [torch.from_numpy(a).to(device) for a in arrays]
        if angles is not None:
            tensors = turn_batch(tensors, angles, self.patch_y, self.turn_interpolation)
        if augment and self.blur_share > 0:
            tensors[0] = blur_batch(tensors[0], blur_sigmas(size, rng, self.blur_share, self.blur_sigma))
        return tensors

    def batch(self, size, rng, augment=True):
        """``size`` patches from randomly chosen items and one random plane, stacked: (N, C, ...) arrays."""
        return [t.numpy() for t in self.tensor_batch(size, rng, augment)]


def near_miss_mask(target, reach):
    """Voxels within ``reach`` sections (z) above or below ``target`` but not in it."""
    if reach < 1:
        return np.zeros_like(target, dtype=bool)
    grown = ndimage.maximum_filter1d(target.view(np.uint8), size=2 * reach + 1, axis=0, mode="constant") > 0
    return grown & ~target


def _mirror_to(array, sizes):
    """``array`` (C, H, W) mirrored at its far edges up to (H, W) = ``sizes`` where it is smaller."""
    pad = [(0, 0)] + [(0, max(0, want - have)) for want, have in zip(sizes, array.shape[1:])]
    return np.pad(array, pad, mode="symmetric") if any(p[1] for p in pad) else array


def _augment(arrays, rng):
    """Same random rotation by k·90° in (y, x), x flip and z flip (channel order for 2D) on every array."""
    k, flip_x, flip_z = int(rng.integers(4)), bool(rng.integers(2)), bool(rng.integers(2))
    out = []
    for a in arrays:
        a = np.rot90(a, k, axes=(-2, -1))
        if flip_x:
            a = a[..., ::-1]
        if flip_z:
            a = a[::-1] if a.ndim == 3 else a[:, ::-1]
        out.append(a)
    return out


def _flip_every_axis(arrays, rng):
    """Same random flips of 2D channels (C, H, W): of the section axis (channel order), rows and columns."""
    flips = [bool(rng.integers(2)) for _ in range(3)]
    out = []
    for a in arrays:
        for axis, flip in enumerate(flips):
            if flip:
                a = np.flip(a, axis)
        out.append(a)
    return out
