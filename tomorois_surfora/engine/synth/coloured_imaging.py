"""The second family's image formation: tilt axis x, a narrower tilt range, stronger defocus, coloured noise
and a slow background (uneven ice), so that a model tuned on :mod:`.imaging` meets other images.

Frequencies are in cycles/nm; with the tilt axis x and the beam along z, the missing wedge is the set of
frequencies with |k_z| > tan(tilt range) · |k_y|.
"""
from dataclasses import dataclass

import numpy as np
import scipy.fft

from .imaging import Microscope, frequency_grids, phase_flipped_ctf, standardise


@dataclass
class ColouredImaging:
    """Acquisition of the second family. ``noise_exponent`` shapes the noise power as 1 / |k|^exponent
    (0: white); ``background`` is the standard deviation of the slow background relative to the signal's."""

    tilt_range: float = 50.0
    defocus_um: float = 5.0
    voltage_kv: int = 200
    amplitude_contrast: float = 0.1
    bfactor_nm2: float = 20.0
    snr: float = 0.4
    noise_exponent: float = 1.0
    background: float = 0.5

    def to_json(self):
        return {"tilt_range_deg": self.tilt_range, "tilt_axis": "x", "defocus_um": self.defocus_um,
                "voltage_kv": self.voltage_kv, "amplitude_contrast": self.amplitude_contrast,
                "bfactor_nm2": self.bfactor_nm2, "snr": self.snr, "noise": f"1/|k|^{self.noise_exponent:g}",
                "background": self.background, "ctf": "phase-flipped",
                "contrast": "membranes dark (negative), normalised to mean 0 and std 1"}


def _coloured(shape, voxel_size_nm, exponent, rng):
    """Gaussian noise of unit variance whose power falls as 1 / |k|^exponent (flat below 1/50 nm⁻¹)."""
    kz, ky, kx = frequency_grids(shape, voxel_size_nm)
    k = np.sqrt(np.maximum(kz ** 2 + ky ** 2 + kx ** 2, 0.02 ** 2))
    spectrum = scipy.fft.rfftn(rng.standard_normal(shape, dtype=np.float32), workers=-1)
    spectrum *= (k ** (-exponent / 2)).astype(np.float32)
    noise = scipy.fft.irfftn(spectrum, s=shape, workers=-1).astype(np.float32)
    return noise / noise.std()


def _slow_background(shape, voxel_size_nm, rng):
    """A smooth field with structure on the 100 nm scale and above, unit variance."""
    kz, ky, kx = frequency_grids(shape, voxel_size_nm)
    spectrum = scipy.fft.rfftn(rng.standard_normal(shape, dtype=np.float32), workers=-1)
    spectrum *= np.exp(-(kz ** 2 + ky ** 2 + kx ** 2) / (2 * 0.006 ** 2)).astype(np.float32)
    field = scipy.fft.irfftn(spectrum, s=shape, workers=-1).astype(np.float32)
    std = field.std()
    return field / std if std > 0 else field


def image_density_coloured(density, voxel_size_nm, imaging, rng):
    """Turn a clean density into a tomogram of the second family (see the module docstring).

    Returns
    -------
    tomogram : ndarray of float32
        Membranes dark, mean 0, standard deviation 1.
    signal_variance : float
    """
    shape = density.shape
    microscope = Microscope(defocus_um=imaging.defocus_um, voltage_kv=imaging.voltage_kv,
                            amplitude_contrast=imaging.amplitude_contrast, bfactor_nm2=imaging.bfactor_nm2)
    spectrum = scipy.fft.rfftn(density.astype(np.float32), workers=-1)
    kz, ky, kx = frequency_grids(shape, voxel_size_nm)
    transfer = phase_flipped_ctf(kz ** 2 + ky ** 2 + kx ** 2, microscope).astype(np.float32)
    if imaging.tilt_range < 90:
        transfer *= np.abs(kz) <= np.tan(np.deg2rad(imaging.tilt_range)) * np.abs(ky)
    spectrum *= transfer
    signal = scipy.fft.irfftn(spectrum, s=shape, workers=-1).astype(np.float32)
    del spectrum, transfer
    signal_variance = float(signal.var())
    tomogram = -signal
    if imaging.snr is not None and signal_variance > 0:
        noise_std = np.float32(np.sqrt(signal_variance / imaging.snr))
        tomogram += _coloured(shape, voxel_size_nm, imaging.noise_exponent, rng) * noise_std
    if imaging.background > 0 and signal_variance > 0:
        tomogram += _slow_background(shape, voxel_size_nm, rng) * np.float32(imaging.background
                                                                             * np.sqrt(signal_variance))
    return standardise(tomogram), signal_variance
