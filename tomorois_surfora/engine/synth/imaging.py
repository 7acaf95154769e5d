"""Image formation for phantoms: bilayer density, missing wedge, CTF-like band-pass and noise.

Frequencies are in cycles/nm; the tilt axis is y and the beam is along z, so the missing wedge is the set of
frequencies with |k_z| > tan(tilt range) · |k_x|.
"""
from dataclasses import asdict, dataclass

import numpy as np
import scipy.fft

ELECTRON_WAVELENGTH_NM = {100: 0.003701, 200: 0.002508, 300: 0.001969}


@dataclass
class BilayerModel:
    """Two Gaussian leaflets ``leaflet_separation`` nm apart around each membrane's mid-surface.

    ``label_thickness`` is the width of the ground-truth membrane label around the mid-surface.
    """

    leaflet_separation: float = 3.6
    leaflet_sigma: float = 0.8
    label_thickness: float = 5.0

    def extent(self):
        """Distance (nm) from the mid-surface beyond which the density is negligible."""
        return self.leaflet_separation / 2 + 4 * self.leaflet_sigma

    def density(self, signed_distance, voxel_size_nm):
        """Bilayer density at ``signed_distance`` (nm) from the mid-surface.

        The leaflet width is widened by the voxel's box response (variance voxel²/12) so that coarse
        voxels sample the leaflets without aliasing.
        """
        sigma2 = self.leaflet_sigma ** 2 + voxel_size_nm ** 2 / 12.0
        h = self.leaflet_separation / 2
        d = signed_distance
        return np.exp(-((d - h) ** 2) / (2 * sigma2)) + np.exp(-((d + h) ** 2) / (2 * sigma2))

    def to_json(self):
        return {f"{k}_nm": v for k, v in asdict(self).items()}


@dataclass
class Microscope:
    """Acquisition model: tilt range (±degrees), defocus (µm, underfocus positive), voltage (kV),
    amplitude contrast, B-factor envelope (nm²) and SNR (signal variance / noise variance; None: no noise).
    """

    tilt_range: float = 60.0
    defocus_um: float = 3.0
    voltage_kv: int = 300
    amplitude_contrast: float = 0.07
    bfactor_nm2: float = 10.0
    snr: float = 0.5

    def to_json(self):
        return {"tilt_range_deg": self.tilt_range, "tilt_axis": "y", "defocus_um": self.defocus_um,
                "voltage_kv": self.voltage_kv, "amplitude_contrast": self.amplitude_contrast,
                "bfactor_nm2": self.bfactor_nm2, "snr": self.snr, "ctf": "phase-flipped",
                "contrast": "membranes dark (negative), normalised to mean 0 and std 1"}


def frequency_grids(shape, voxel_size_nm):
    """Broadcastable (k_z, k_y, k_x) frequency arrays in cycles/nm for an ``rfftn`` of ``shape``."""
    kz = scipy.fft.fftfreq(shape[0], d=voxel_size_nm).astype(np.float32)[:, None, None]
    ky = scipy.fft.fftfreq(shape[1], d=voxel_size_nm).astype(np.float32)[None, :, None]
    kx = scipy.fft.rfftfreq(shape[2], d=voxel_size_nm).astype(np.float32)[None, None, :]
    return kz, ky, kx


def wedge_mask(kz, kx, tilt_range_deg):
    """True where a ±``tilt_range_deg`` tilt series samples Fourier space (tilt axis y, beam z)."""
    if tilt_range_deg >= 90:
        return np.ones(np.broadcast_shapes(kz.shape, kx.shape), dtype=bool)
    return np.abs(kz) <= np.tan(np.deg2rad(tilt_range_deg)) * np.abs(kx)


def phase_flipped_ctf(k2, microscope):
    """|CTF| (phase-flipped) times the B-factor envelope, for squared frequency ``k2`` (cycles²/nm²)."""
    wavelength = ELECTRON_WAVELENGTH_NM[int(microscope.voltage_kv)]
    chi = np.pi * wavelength * (microscope.defocus_um * 1000.0) * k2
    a = microscope.amplitude_contrast
    ctf = np.sqrt(1 - a * a) * np.sin(chi) + a * np.cos(chi)
    return np.abs(ctf) * np.exp(-microscope.bfactor_nm2 * k2 / 4.0)


def image_density(density, voxel_size_nm, microscope, rng):
    """Turn a clean density into a tomogram: missing wedge, CTF, noise, inverted contrast, normalised.

    Parameters
    ----------
    density : ndarray (z, y, x)
        Clean density (membranes positive).
    voxel_size_nm : float
    microscope : Microscope
    rng : numpy.random.Generator

    Returns
    -------
    tomogram : ndarray of float32
        Membranes dark, mean 0, standard deviation 1.
    signal_variance : float
        Variance of the filtered, noise-free signal (the numerator of the SNR).
    """
    shape = density.shape
    spectrum = scipy.fft.rfftn(density.astype(np.float32), workers=-1)
    kz, ky, kx = frequency_grids(shape, voxel_size_nm)
    transfer = phase_flipped_ctf(kz ** 2 + ky ** 2 + kx ** 2, microscope).astype(np.float32)
    transfer *= wedge_mask(kz, kx, microscope.tilt_range)
    spectrum *= transfer
    signal = scipy.fft.irfftn(spectrum, s=shape, workers=-1).astype(np.float32)
    del spectrum, transfer
    signal_variance = float(signal.var())
    tomogram = -signal
    if microscope.snr is not None and signal_variance > 0:
        noise_std = np.sqrt(signal_variance / microscope.snr)
        tomogram += rng.standard_normal(shape, dtype=np.float32) * np.float32(noise_std)
    return standardise(tomogram), signal_variance


def standardise(tomogram):
    """Shift and scale ``tomogram`` in place to mean 0 and standard deviation 1 (a flat one only to mean 0)."""
    tomogram -= tomogram.mean()
    std = tomogram.std()
    if std > 0:
        tomogram /= std
    return tomogram
