"""Medial (mid-)surface point clouds of membrane masks: moving-least-squares Monge fits (SurfORA S3a).

Seeds taken from the mask's voxel centres are pulled onto the mid-surface of the membrane by repeated
weighted quadratic fits to all voxel centres around them; the cloud is then densified where the surface
bends, reduced to a single layer, homogenised by Poisson-disc sampling and reprojected once more.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.spatial import cKDTree

from ..errors import InputError, raise_problems
from .geometry import neighbourhood_fits, principal_curvatures
from .occupancy import face_offsets
from ..parallel import blocks
from .sampling import large_components, poisson_disc
from .voxel_fits import off_mask as voxel_off_mask, voxel_mls_fits

MAX_NEIGHBOURS = 1000  # per fit: every voxel within the radius of membranes up to ~5 voxels thick
SEGMENT_SAMPLES_PER_VOXEL = 2  # visibility segments are tested every ≤ ½ voxel
MIN_PIECE_POINTS = 10  # a connected piece of fewer points is a speck, whatever its extent


@dataclass
class MedialParameters:
    """Medial-surface settings; lengths in nm, ``None`` means derived from the voxel size and the mask.

    spacing_nm : target point spacing on flat parts (default: one voxel).
    min_spacing_nm : closest spacing on strongly curved parts (default: half the spacing).
    curvature_factor : spacing = curvature_factor / k_max where that is between the two bounds.
    radius_nm : fitting neighbourhood radius (default: 1.5 × the membrane thickness, at least 3 voxels).
    iterations : MLS reprojection steps for the seeds.
    layer_tolerance_nm : a point further than this from the surface fitted to its neighbours lies on a
        second layer and is removed (default: half a voxel).
    min_area_nm2 : connected pieces smaller than this are dropped (fewer than max(10, area / spacing²)
        points, or narrower than max(3 spacings, √area) across: specks).
    """

    spacing_nm: Optional[float] = None
    min_spacing_nm: Optional[float] = None
    curvature_factor: float = 0.3
    radius_nm: Optional[float] = None
    iterations: int = 3
    layer_tolerance_nm: Optional[float] = None
    min_area_nm2: float = 20.0
    seed: int = 0

    def problems(self):
        found = [f"{name} must be positive, got {value}" for name, value in
                 (("spacing_nm", self.spacing_nm), ("min_spacing_nm", self.min_spacing_nm),
                  ("radius_nm", self.radius_nm), ("layer_tolerance_nm", self.layer_tolerance_nm))
                 if value is not None and not value > 0]
        if self.curvature_factor <= 0:
            found.append(f"curvature_factor must be positive, got {self.curvature_factor}")
        if self.iterations < 1:
            found.append(f"iterations must be at least 1, got {self.iterations}")
        if self.min_area_nm2 < 0:
            found.append(f"min_area_nm2 must be ≥ 0, got {self.min_area_nm2}")
        return found


def voxel_centres_nm(mask, voxel_size_nm, origin_nm=(0.0, 0.0, 0.0)):
    """Centres of the mask's voxels as (x, y, z) nm points: x = column × voxel size + origin."""
    zyx = np.argwhere(mask)
    return zyx[:, ::-1] * voxel_size_nm + np.asarray(origin_nm, dtype=np.float64)


def inside_distances_nm(mask, voxel_size_nm):
    """Per mask voxel (in ``argwhere`` order), the distance to the nearest background voxel centre, nm.

    The same values as the Euclidean distance transform of the mask padded with background, but with
    memory in proportion to the mask, not its box: the nearest background voxel is always a face neighbour
    of a mask voxel (a step from it toward the query point along any differing axis comes closer), so
    only those are searched.
    """
    zyx = np.argwhere(mask)
    if len(zyx) == 0:
        return np.zeros(0)
    shape = np.array(mask.shape)
    candidates = []
    for axis in range(3):
        for step in (-1, 1):
            moved = zyx.copy()
            moved[:, axis] += step
            outside = (moved[:, axis] < 0) | (moved[:, axis] >= shape[axis])
            inner = moved[~outside]
            background = ~mask[inner[:, 0], inner[:, 1], inner[:, 2]]
            candidates += [moved[outside], inner[background]]
    border = np.unique(np.concatenate(candidates), axis=0)
    return cKDTree(border).query(zyx, k=1, workers=-1)[0] * float(voxel_size_nm)


def membrane_thickness_nm(mask, voxel_size_nm=None, inside=None):
    """Robust membrane thickness: twice the 95th percentile of the inside distance to the background
    (``inside``: those distances already computed, e.g. piece by piece)."""
    inside = inside_distances_nm(mask, voxel_size_nm) if inside is None else inside
    return 2.0 * float(np.percentile(inside, 95))


class MlsSurface:
    """The moving-least-squares mid-surface of a membrane mask's voxel centres.

    A voxel takes part in a fit only when the straight segment from the fitted point to it stays inside the
    mask: across a gap (a folded membrane, two apposed membranes) the segment leaves the mask, so the other
    membrane never pulls the fit, however close it is. Neighbours come from the voxel grid
    (:mod:`.voxel_fits`): every mask voxel within the radius, or on thick masks the ``MAX_NEIGHBOURS``
    nearest (and those tied with the last).
    """

    def __init__(self, mask, voxel_size_nm, origin_nm, thickness_nm, radius_nm):
        self.mask = np.ascontiguousarray(mask, dtype=bool)
        self.voxel_size = float(voxel_size_nm)
        self.origin = np.asarray(origin_nm, dtype=np.float64)
        self.radius = float(radius_nm)
        self.sigma_normal = 0.75 * thickness_nm

    def project(self, queries, iterations):
        """Project query points onto the mid-surface.

        A step that would leave the mask's neighbourhood (farther than one voxel from every membrane voxel
        centre, e.g. a fit over a one-sided or near-degenerate neighbourhood extrapolating its quadratic)
        is not taken: the point stays where it was and is flagged, so no projected point is ever off the
        mask.

        Returns points, unit normals (arbitrary sign), the quadratic coefficients and frames of the last fit,
        the centres those coefficients are relative to, whether each neighbourhood was degenerate
        (collinear voxels, or fewer than 3 within the radius: no surface), and whether a step was refused
        (``off_mask``).
        """
        c = np.array(queries, dtype=np.float64).reshape(-1, 3)
        refused = np.zeros(len(c), dtype=bool)
        for _ in range(iterations):
            c_fit = c
            points, normals, coefficients, frames, flags = voxel_mls_fits(
                self.mask, c_fit, self.origin, self.voxel_size, self.radius, MAX_NEIGHBOURS, self.sigma_normal,
                SEGMENT_SAMPLES_PER_VOXEL, blocks(len(c_fit)))
            away = self.off_mask(points)
            points[away] = c_fit[away]
            refused |= away
            c = points
        return points, normals, coefficients, frames, c_fit, flags, refused

    def off_mask(self, points):
        """True where a point is farther than one voxel from every membrane voxel centre."""
        return voxel_off_mask(self.mask, np.asarray(points, dtype=np.float64).reshape(-1, 3), self.origin,
                              self.voxel_size)


def grid_seeds(mask, cell):
    """One voxel per ``cell``³ block of the mask (the first in scan order), as (z, y, x) indices."""
    zyx = np.argwhere(mask)
    _, first = np.unique(zyx // cell, axis=0, return_index=True)
    return zyx[np.sort(first)]


def medial_surface(mask, voxel_size_nm, params=None, origin_nm=(0.0, 0.0, 0.0), source="mask", thickness_nm=None):
    """Single-layer mid-surface point cloud of a binary membrane mask.

    Parameters
    ----------
    mask : ndarray of bool (z, y, x)
    voxel_size_nm : float
    params : MedialParameters, optional
    origin_nm : (x, y, z), position of voxel (0, 0, 0) in nm (e.g. the crop offset of an ROI)
    source : str
        Named in error messages.
    thickness_nm : float, optional
        The membrane's thickness when measured over more than this mask (see :func:`membrane_thickness_nm`).

    Returns
    -------
    points : ndarray (n, 3), nm
    normals : ndarray (n, 3), unit, unoriented
    info : dict
        Thickness and radius used, point counts after each step.
    """
    params = params or MedialParameters()
    raise_problems([f"{source}: {p}" for p in params.problems()])
    mask = np.asarray(mask, dtype=bool)
    n_voxels = int(mask.sum())
    if n_voxels < 10:
        raise InputError(f"{source}: {n_voxels} membrane voxels, too few for a surface (need at least 10)")
    vs = float(voxel_size_nm)
    spacing = params.spacing_nm or vs
    min_spacing = params.min_spacing_nm or 0.5 * spacing
    tolerance = params.layer_tolerance_nm or 0.5 * vs
    thickness = membrane_thickness_nm(mask, vs) if thickness_nm is None else float(thickness_nm)
    radius = params.radius_nm or max(1.5 * thickness, 3.0 * vs)
    surface = MlsSurface(mask, vs, origin_nm, thickness, radius)
    info = {"voxels": n_voxels, "thickness_nm": thickness, "radius_nm": radius, "spacing_nm": spacing}

    cell = max(1, int(round(0.75 * thickness / vs)))
    seeds = grid_seeds(mask, cell)[:, ::-1] * vs + np.asarray(origin_nm, dtype=np.float64)
    points, normals, coefficients, frames, centres, collinear, refused = surface.project(seeds, params.iterations)
    info["seeds"] = len(seeds)
    if collinear.mean() > 0.5:
        raise InputError(f"{source}: the membrane voxels lie along a line ({collinear.sum()} of {len(seeds)} "
                         "neighbourhoods are collinear); there is no surface to fit")
    usable = ~(collinear | refused)
    points, normals, coefficients, frames, centres = (a[usable] for a in (points, normals, coefficients, frames,
                                                                          centres))

    k1, k2 = principal_curvatures(coefficients)
    k_max = np.maximum(np.abs(k1), np.abs(k2))
    local_spacing = np.clip(params.curvature_factor / np.maximum(k_max, 1e-9), min_spacing, spacing)
    candidates, candidate_spacing = densify(points, frames, coefficients, centres, local_spacing, 0.5 * cell * vs)
    supported = ~surface.off_mask(candidates)
    points, radii = candidates[supported], candidate_spacing[supported]
    info["candidates"] = len(points)
    if len(points) < 3:
        raise InputError(f"{source}: the mask has no surface-like part to fit (only {len(points)} points)")
    single = single_layer(points, tolerance)
    points, radii = points[single], radii[single]
    info["single_layer"] = len(points)
    keep = poisson_disc(points, radii, seed=params.seed)
    points, radii = points[keep], radii[keep]
    info["homogenised"] = len(keep)
    points, normals, _, _, _, collinear, refused = surface.project(points, 2)
    kept = ~(collinear | refused)
    info["dropped_off_mask"] = int((~kept).sum())
    points, normals = points[kept], normals[kept]
    min_points = max(MIN_PIECE_POINTS, int(params.min_area_nm2 / spacing ** 2))
    large = large_components(points, 2.5 * spacing, min_points, max(3 * spacing, np.sqrt(params.min_area_nm2)))
    info["dropped_specks"] = int((~large).sum())
    points, normals = points[large], normals[large]
    if len(points) == 0:
        raise InputError(f"{source}: every surface piece is smaller than {params.min_area_nm2} nm²")
    shift = interpolation_shift(*cloud_curvatures(points, normals), 0.5 * thickness, vs)
    points, info["recentred"] = centre_between_faces(surface, points, normals, thickness, thickness, shift)
    info["points"] = len(points)
    return points, normals, info


def cloud_curvatures(points, normals, k=20):
    """Mean and Gaussian curvature (nm⁻¹, nm⁻²) of a thin point cloud at each point, positive where it bends
    toward the point's normal: quadratic fits over ``k`` neighbours (0 where too few points or degenerate).

    The mask's own fits are no use for this: a quadratic fitted to a 4 nm thick band of voxels had 0.7 of a
    sphere's mean curvature at r = 8, 12 and 20 nm.
    """
    mean, gauss = np.zeros(len(points)), np.zeros(len(points))
    if len(points) < k:
        return mean, gauss
    coefficients, frames, valid = neighbourhood_fits(points, k, normal_sigma_spacings=1.0)
    k1, k2 = principal_curvatures(coefficients[valid])
    side = np.sign(np.sum(frames[valid, :, 2] * normals[valid], axis=1))
    mean[valid], gauss[valid] = 0.5 * (k1 + k2) * side, k1 * k2
    return mean, gauss


def interpolation_shift(mean, gauss, half_thickness_nm, voxel_size_nm):
    """How far (nm, along each point's fitted normal) the midpoint between a mask's faces, read where its
    trilinear interpolant crosses 0.5, sits off the true mid-surface on a curved membrane.

    Over grid placements the trilinear interpolant of a sampled indicator is the indicator convolved with the
    tent kernel (variance σ² = voxel²/6 per axis). Smoothing moves a level set toward the side its surface
    bends to, by σ²·H (H the face's mean curvature; the heat flow of time σ²/2 moves a level set by the
    curvature sum times that time). Both faces of a sphere's shell move inward: the midpoint sits
    σ²·(H(+h) + H(−h))/2 inside, −0.022 nm for a 4 nm shell at r = 8 nm on 1 nm voxels. The faces' mean
    curvatures follow from the fit's H and K at offsets ±h along the normal; no shift where a face would be
    folded (its curvature radius under half the distance).

    Parameters
    ----------
    mean, gauss : ndarray (n,)
        The mid-surface's mean curvature (positive toward the normal) and Gaussian curvature at each point.
    """
    shift = np.zeros(len(mean))
    folded = np.zeros(len(mean), dtype=bool)
    for d in (half_thickness_nm, -half_thickness_nm):
        denominator = 1.0 - 2.0 * d * mean + d * d * gauss
        folded |= denominator < 0.25
        shift += 0.5 * (mean - d * gauss) / np.maximum(denominator, 0.25)
    return np.where(folded, 0.0, shift * voxel_size_nm ** 2 / 6.0)


def centre_between_faces(surface, points, normals, thickness_nm, radius_nm, shift_nm=0.0):
    """Move each point along its normal to the midpoint between the mask's two faces, averaged over the
    fitting window.

    The quadratic MLS fit over a window as wide as a curved membrane's inner radius sits inside the middle
    (−0.16 nm at r = 8 nm for a 4 nm membrane, also on a continuous shell: the band's mean height falls
    faster than quadratically off-axis). The faces' midpoint along the normal (where the trilinear mask
    crosses 0.5 on either side) has no such bias; one ray per point sees the staircase, so the offsets are
    averaged (as vectors: the normals are unoriented) over ``radius_nm`` (the membrane thickness: wider
    windows average over a turning normal on small vesicles) before the move. Offsets larger than
    a quarter thickness (a ray leaving along the membrane, at a rim or junction) are not used.
    ``shift_nm`` (per point, along its normal) is taken off every offset first: the faces' midpoint's own
    bias on curved membranes (:func:`interpolation_shift`).

    Returns the points and how many rays gave an offset.
    """
    offsets = face_offsets(surface.mask, surface.origin, surface.voxel_size, points, normals,
                           2.0 * thickness_nm / surface.voxel_size + 2.0, 0.05) - shift_nm
    usable = np.isfinite(offsets) & (np.abs(offsets) <= 0.25 * thickness_nm)
    if usable.sum() < 3:
        return points, int(usable.sum())
    vectors = offsets[usable, None] * normals[usable]
    pairs = cKDTree(points).sparse_distance_matrix(cKDTree(points[usable]), radius_nm, output_type="ndarray")
    total = np.zeros_like(points)
    np.add.at(total, pairs["i"], vectors[pairs["j"]])
    count = np.bincount(pairs["i"], minlength=len(points))
    mean = total / np.maximum(count, 1)[:, None]
    return points + normals * np.sum(mean * normals, axis=1)[:, None], int(usable.sum())


def densify(points, frames, coefficients, centres, spacing, half_extent):
    """Candidate points on each seed's fitted quadratic, on a tangent-plane grid of the local spacing.

    Each seed covers the square of side 2·``half_extent`` around it (its share of the surface). Returns the
    candidates and the spacing each inherits from its seed.
    """
    candidates, spacings = [points], [spacing]
    steps = np.ceil(half_extent / spacing).astype(int)
    for m in np.unique(steps):
        if m < 1:
            continue
        chosen = np.flatnonzero(steps == m)
        grid = np.arange(-m, m + 1)
        uu, vv = (g.ravel() for g in np.meshgrid(grid, grid, indexing="ij"))
        off_centre = (uu != 0) | (vv != 0)
        uu, vv = uu[off_centre], vv[off_centre]
        s = spacing[chosen][:, None]
        u, v = uu[None, :] * s, vv[None, :] * s
        a, b, c, d, e, f = (coefficients[chosen, i][:, None] for i in range(6))
        h = a * u * u + 2 * b * u * v + c * v * v + d * u + e * v + f
        local = np.stack([u, v, h], axis=-1)
        world = centres[chosen][:, None, :] + np.einsum("nij,nkj->nki", frames[chosen], local)
        candidates.append(world.reshape(-1, 3))
        spacings.append(np.repeat(spacing[chosen], len(uu)))
    return np.concatenate(candidates), np.concatenate(spacings)


def single_layer(points, tolerance, k=16):
    """Mask of the points that lie on the surface fitted to their neighbours (within ``tolerance``).

    Where the reprojected cloud has two layers (e.g. a fold thinner than the fitting radius), the local
    fit falls between them and both layers' points are removed rather than kept as a double sheet; the
    quadratic fit follows the curvature, so bent single layers pass.
    """
    if len(points) <= k:
        return np.ones(len(points), dtype=bool)
    coefficients, _, valid = neighbourhood_fits(points, k)
    return valid & (np.abs(np.nan_to_num(coefficients[:, 5], nan=np.inf)) <= tolerance)
