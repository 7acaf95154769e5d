"""Preprocessing of seed 004: per-volume intensity normalisation, optional edge-enhancing diffusion, CLAHE per
z-section.

The tomogram arrives standardised (mean 0, standard deviation 1, clipped, see :mod:`..roi.data`). It is
rescaled so that its 0.5 and 99.5 percentiles map to 0 and 1 (clipped), which makes CLAHE behave alike on
every tomogram; then optionally smoothed by edge-enhancing diffusion (:mod:`.eed`); then each z-section is
equalised by contrast-limited adaptive histogram equalisation (CLAHE, blocks of 32 pixels, clip limit 3.0 in
OpenCV's convention: a histogram bin may hold 3× the uniform count). The network reads the result minus 0.5.
"""
from dataclasses import asdict, dataclass

import numpy as np

NBINS = 256
SAMPLE = 2_000_000


@dataclass
class PreprocessParameters:
    """Which preprocessing steps run, with their settings."""

    clahe: bool = True
    clahe_block: int = 32
    clahe_clip: float = 3.0
    eed: bool = False
    eed_iterations: int = 10
    eed_sigma: float = 1.0

    def problems(self):
        found = []
        if self.clahe_block < 4:
            found.append(f"CLAHE block must be at least 4 pixels, got {self.clahe_block}")
        if not self.clahe_clip >= 1:
            found.append(f"CLAHE clip limit must be at least 1 (× the uniform bin count), got {self.clahe_clip}")
        if self.eed_iterations < 1 or not self.eed_sigma > 0:
            found.append("EED needs at least one iteration and a positive sigma")
        return found

    def describe(self):
        steps = ["normalise"]
        if self.eed:
            steps.append(f"EED ×{self.eed_iterations}")
        if self.clahe:
            steps.append(f"CLAHE {self.clahe_block}px clip {self.clahe_clip:g}")
        return " → ".join(steps)

    def to_dict(self):
        return asdict(self)


def normalisation_range(volume, low=0.5, high=99.5):
    """The ``low`` and ``high`` percentiles of ``volume`` from a regular subsample of about 2 million voxels
    (``volume`` may be anything that supports strided slicing, e.g. a lazily standardised memmap)."""
    step = max(1, int(np.ceil((int(np.prod(volume.shape)) / SAMPLE) ** (1 / 3))))
    lo, hi = np.percentile(np.asarray(volume[::step, ::step, ::step]), [low, high])
    return float(lo), float(hi)


def _rescale(volume, lo, hi):
    """``volume`` with ``lo`` and ``hi`` mapped to 0 and 1, clipped; float32, in place when it is float32."""
    out = volume if volume.dtype == np.float32 else volume.astype(np.float32)
    out -= np.float32(lo)
    out /= np.float32(max(hi - lo, 1e-6))
    return np.clip(out, 0, 1, out=out)


def normalise_volume(volume, low=0.5, high=99.5):
    """Map the ``low`` and ``high`` percentiles of ``volume`` (from a regular subsample) to 0 and 1, clipped;
    float32, in place when ``volume`` is float32."""
    return _rescale(volume, *normalisation_range(volume, low, high))


def clahe_sections(volume, block=32, clip=3.0):
    """CLAHE on every z-section of a [0, 1] volume, in place. ``clip`` is OpenCV's clip limit (multiples of
    the uniform bin count), converted to scikit-image's fraction of the block's pixels."""
    from skimage.exposure import equalize_adapthist

    for z in range(volume.shape[0]):
        volume[z] = equalize_adapthist(volume[z], kernel_size=block, clip_limit=clip / NBINS, nbins=NBINS)
    return volume


def preprocess(volume, params=None, copy=True):
    """The network's input for a standardised volume: normalise, [EED], [CLAHE], minus 0.5 (float32).

    With ``copy`` False a float32 ``volume`` is overwritten instead of copied (for a tomogram that is
    not used again, so that it is held once)."""
    params = params or PreprocessParameters()
    out = normalise_volume(np.array(volume, dtype=np.float32, copy=copy))
    if params.eed:
        from .eed import edge_enhancing_diffusion

        out = edge_enhancing_diffusion(out, params.eed_iterations, params.eed_sigma)
        out = normalise_volume(out, 0.0, 100.0)
    if params.clahe:
        out = clahe_sections(out, params.clahe_block, params.clahe_clip)
    out -= np.float32(0.5)
    return out


class PreprocessedSections:
    """The network's input for a standardised volume, computed a few sections at a time as they are read.

    Equal to :func:`preprocess` without EED (its steps act on one section at a time once the normalisation
    range is known), but never holds more than the sections last asked for: ``sections[z0:z1, y0:y1, x0:x1]``
    computes sections z0..z1-1 whole and keeps them until a later read starts past them. Reads are expected
    in increasing z, as tiled prediction makes them.
    """

    def __init__(self, volume, params=None):
        self.params = params or PreprocessParameters()
        if self.params.eed:
            raise ValueError("EED smooths across sections; preprocess the whole volume with preprocess()")
        self.volume, self.shape, self.ndim = volume, tuple(volume.shape), 3
        self.range = normalisation_range(volume)
        self._cache = {}

    def _section(self, z):
        if z not in self._cache:
            out = _rescale(np.array(self.volume[z:z + 1], dtype=np.float32), *self.range)
            if self.params.clahe:
                out = clahe_sections(out, self.params.clahe_block, self.params.clahe_clip)
            out -= np.float32(0.5)
            self._cache[z] = out[0]
        return self._cache[z]

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        z = range(*key[0].indices(self.shape[0]))
        for old in [k for k in self._cache if k < z.start]:
            del self._cache[old]
        return np.stack([self._section(k) for k in z])[(slice(None),) + key[1:]]
