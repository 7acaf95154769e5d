"""Display contrast from robust percentiles, so a few hot or dead voxels do not set the grey scale."""
import numpy as np

MAX_SAMPLES = 2_000_000


def robust_limits(data, low=0.5, high=99.5, max_samples=MAX_SAMPLES):
    """(low, high) display limits: the ``low`` and ``high`` percentiles of the finite values.

    Large volumes are subsampled on a regular stride (at most ``max_samples`` values), so this is fast on
    memory-mapped tomograms. A constant volume gets limits one unit apart.
    """
    flat = np.asarray(data).ravel()
    flat = flat[:: max(1, flat.size // int(max_samples))].astype(np.float64)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(flat, [low, high]))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi
