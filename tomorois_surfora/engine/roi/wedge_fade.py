"""Training copies of annotated tomograms with a second missing wedge about another in-plane axis.

The missing wedge fades membranes whose normal lies near the tilt axis: a tomogram shows such membranes
faint and smeared, and the others crisp. A few annotated tomograms may hold no faint membrane at all, and the
90° rotations of the patch augmentation turn the wedge with the membrane, so a network trained on them never
learns that a faint membrane is still a membrane. Each copy here is one training tomogram with an extra
missing wedge whose tilt axis lies at some angle in the x–y plane: the membranes whose normals lie near that
axis fade as they would under the real wedge, while the ROI annotation stays. Copies train only; validation
and calibration see the tomograms as they are.
"""
from dataclasses import replace

import numpy as np
import scipy.fft

from ..synth.imaging import frequency_grids, standardise, wedge_mask


def extra_wedge(image, axis_deg, tilt_range_deg=60.0):
    """``image`` with the Fourier components a ±``tilt_range_deg`` tilt series about an in-plane axis misses
    removed, normalised to mean 0 and standard deviation 1.

    Parameters
    ----------
    image : ndarray (z, y, x)
    axis_deg : float
        Direction of the tilt axis in the x–y plane, degrees from x towards y.
    tilt_range_deg : float
        Largest tilt of the simulated series; the missing wedge is 2·(90 − ``tilt_range_deg``) wide.

    Returns
    -------
    ndarray of float32, the shape of ``image``
    """
    spectrum = scipy.fft.rfftn(image.astype(np.float32), workers=-1)
    kz, ky, kx = frequency_grids(image.shape, 1.0)  # cycles per voxel: the wedge depends on ratios only
    angle = np.deg2rad(axis_deg)
    across_axis = -np.sin(angle) * kx + np.cos(angle) * ky  # in-plane frequency normal to the axis
    spectrum *= wedge_mask(kz, across_axis, tilt_range_deg)
    return standardise(scipy.fft.irfftn(spectrum, s=image.shape, workers=-1).astype(np.float32))


def wedge_angles(n_items, copies, rng):
    """Tilt-axis angles (degrees, shape ``(n_items, copies)``) spread evenly over 0–180° from a random start,
    so that every membrane orientation fades in some copy."""
    slots = np.arange(n_items * copies).reshape(copies, n_items).T  # an item's copies lie 180/copies apart
    return (rng.uniform(0, 180) + 180.0 * slots / (n_items * copies)) % 180.0


def faded_copies(items, copies, seed=0, tilt_range_deg=60.0):
    """``copies`` copies of each training item, each with an extra missing wedge (:func:`extra_wedge`).

    Parameters
    ----------
    items : list of TrainingItem
    copies : int
        Copies per item; 0 returns an empty list.
    seed : int
        Chooses the angles (:func:`wedge_angles`).

    Returns
    -------
    list of TrainingItem
        Item by item, its copies in turn; each keeps its item's ROI and penalty masks.
    """
    if copies < 1 or not items:
        return []
    angles = wedge_angles(len(items), copies, np.random.default_rng([seed, 7]))
    return [replace(item, name=f"{item.name} (extra wedge, axis {angle:.0f}°)",
                    image=extra_wedge(item.image, angle, tilt_range_deg))
            for item, row in zip(items, angles) for angle in row]
