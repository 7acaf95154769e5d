"""Random training patches: sections (2D, with neighbouring sections as channels) or cubes (3D).

Patch centres are drawn from ROI voxels with probability ``foreground``, from penalty-mask voxels with
probability ``on_penalty`` (when a penalty mask exists), else uniformly; ROIs are small, and sampling them
evenly would show the network almost no positives. Training patches get random 90° rotations and flips in
the section plane and a flip along z; the missing wedge makes z special, so z is never swapped with x or y.
"""
import numpy as np

from .sections import SectionChannels

MAX_CANDIDATES = 200_000


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
    """

    def __init__(self, items, row_ranges, dims, context, patch, foreground=0.5, on_penalty=0.25, penalty_weight=5.0,
                 positive_weight=1.0, far_context=0):
        self.items, self.row_ranges, self.dims = items, row_ranges, dims
        self._channels = [SectionChannels(item.image, context, far_context) for item in items] if dims == 2 else None
        self.foreground, self.on_penalty, self.penalty_weight = foreground, on_penalty, penalty_weight
        self.positive_weight = positive_weight
        self.patch_y = min(patch, min(hi - lo for lo, hi in row_ranges))
        self.patch_x = min(patch, min(item.image.shape[2] for item in items))
        self.patch_z = min(patch, min(item.image.shape[0] for item in items)) if dims == 3 else 1
        seed_rng = np.random.default_rng(12345)
        self._roi_voxels = [self._candidates(item.target, seed_rng, rows) for item, rows in zip(items, row_ranges)]
        self._penalty_voxels = [None if item.penalty is None else self._candidates(item.penalty, seed_rng, rows)
                                for item, rows in zip(items, row_ranges)]

    @property
    def patch(self):
        """(y, x) size of the patches."""
        return self.patch_y, self.patch_x

    @staticmethod
    def _candidates(mask, rng, rows):
        coords = np.argwhere(mask[:, rows[0]:rows[1]])
        if len(coords) > MAX_CANDIDATES:
            coords = coords[rng.choice(len(coords), MAX_CANDIDATES, replace=False)]
        coords[:, 1] += rows[0]
        return coords if len(coords) else None

    def _centre(self, index, rng):
        roll = rng.random()
        choices = self._roi_voxels[index] if roll < self.foreground else None
        if choices is None and roll < self.foreground + self.on_penalty:
            choices = self._penalty_voxels[index]
        if choices is not None:
            return choices[rng.integers(len(choices))]
        lo, hi = self.row_ranges[index]
        shape = self.items[index].image.shape
        return np.array([rng.integers(shape[0]), rng.integers(lo, hi), rng.integers(shape[2])])

    def _window(self, centre, size, lo, hi):
        start = int(np.clip(centre - size // 2, lo, max(hi - size, lo)))
        return slice(start, start + size)

    def sample(self, index, rng, augment=True):
        """One patch from item ``index``: input (C, [D,] H, W), target and weight (1, [D,] H, W), float32."""
        item = self.items[index]
        z, y, x = self._centre(index, rng)
        ys = self._window(y, self.patch_y, *self.row_ranges[index])
        xs = self._window(x, self.patch_x, 0, item.image.shape[2])
        if self.dims == 2:
            image = self._channels[index](z, ys, xs)
            zs = slice(z, z + 1)
        else:
            zs = self._window(z, self.patch_z, 0, item.image.shape[0])
            image = item.image[zs, ys, xs][None]
        target = item.target[zs, ys, xs].astype(np.float32)
        weight = 1 + (self.positive_weight - 1) * target
        if item.penalty is not None:
            weight += self.penalty_weight * item.penalty[zs, ys, xs]
        if self.dims == 2:
            target, weight = target[:1], weight[:1]
        else:
            target, weight = target[None], weight[None]
        if augment:
            image, target, weight = _augment([image, target, weight], rng)
        return [np.ascontiguousarray(a, dtype=np.float32) for a in (image, target, weight)]

    def batch(self, size, rng, augment=True):
        """``size`` patches from randomly chosen items, stacked: (N, C, ...) arrays."""
        samples = [self.sample(int(rng.integers(len(self.items))), rng, augment) for _ in range(size)]
        return [np.stack(parts) for parts in zip(*samples)]


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
