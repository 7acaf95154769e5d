"""Phantom tomograms with ground truth, generated deterministically from (seed, kind, index) and written to disk.

For each tomogram ``<tsId>`` the output folder gets ``<tsId>.mrc`` (the tomogram), ``<tsId>_membranes.mrc``
(membrane instance labels), ``<tsId>_rois.mrc`` (ROI instance labels), ``<tsId>_decoys.mrc`` (decoy regions:
where a contact would be between vesicle-in-vesicle distractors, a ready-made penalty mask) and
``<tsId>.json`` (every object's
parameters, in nm, points as x, y, z); ``dataset.json`` lists them all.

``pm_contacts`` is the second, independently written family (:mod:`.pm_layout`, :mod:`.sheets`,
:mod:`.coloured_imaging`): a plasma membrane crossing the field with partner tubes at different depths, and
its own imaging. Benchmarks score defaults on it and never tune them on it.
"""
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Tuple

import numpy as np

from ..cores import available_cores
from ..errors import InputError, raise_problems
from ..io import check_voxel_size, write_mrc
from ..progress import Progress
from .coloured_imaging import ColouredImaging, image_density_coloured
from .imaging import BilayerModel, Microscope, image_density
from .layout import ContactSceneSpec, InvaginationSceneSpec, layout_contacts, layout_invaginations
from .pm_layout import PmContactSceneSpec, layout_pm_contacts
from .render import add_particles, rasterise_regions, render_scene

KINDS = ("contacts", "invaginations", "pm_contacts")
_KIND_CODES = {"contacts": 1, "invaginations": 2, "pm_contacts": 3}
PM_BILAYER = BilayerModel(leaflet_separation=4.0, leaflet_sigma=0.7, label_thickness=5.0)
# per kind: layout function, and the PhantomParameters fields of its scene spec and its imaging
_LAYOUTS = {"contacts": (layout_contacts, "contacts", "microscope"),
            "invaginations": (layout_invaginations, "invaginations", "microscope"),
            "pm_contacts": (layout_pm_contacts, "pm_contacts", "pm_imaging")}
MIN_EXTENT_NM = {"z": 48.0, "xy": 96.0}


@dataclass
class PhantomParameters:
    """Everything that defines a phantom tomogram besides its seed and index.

    ``shape`` is (z, y, x) in voxels and ``voxel_size`` is in Å (Scipion's sampling rate); objects are
    sized in nm, so a larger voxel size gives a larger field of view. ``microscope`` images the first two
    kinds, ``pm_imaging`` the ``pm_contacts`` family.
    """

    shape: Tuple[int, int, int] = (128, 256, 256)
    voxel_size: float = 10.0
    microscope: Microscope = field(default_factory=Microscope)
    bilayer: BilayerModel = field(default_factory=BilayerModel)
    contacts: ContactSceneSpec = field(default_factory=ContactSceneSpec)
    invaginations: InvaginationSceneSpec = field(default_factory=InvaginationSceneSpec)
    pm_contacts: PmContactSceneSpec = field(default_factory=PmContactSceneSpec)
    pm_imaging: ColouredImaging = field(default_factory=ColouredImaging)

    @staticmethod
    def imaging_field(kind):
        """Name of the field holding ``kind``'s imaging: ``microscope`` or ``pm_imaging``."""
        return _LAYOUTS[kind][2]

    def imaging(self, kind):
        """The imaging parameters of ``kind`` (a :class:`Microscope` or a :class:`ColouredImaging`)."""
        return getattr(self, self.imaging_field(kind))

    def bilayer_for(self, kind):
        """The bilayer model of ``kind``: the second family keeps its own (:data:`PM_BILAYER`)."""
        return PM_BILAYER if kind == "pm_contacts" else self.bilayer

    @property
    def voxel_size_nm(self):
        return self.voxel_size / 10.0

    def extent_nm(self):
        """Physical size (x, y, z) in nm."""
        z, y, x = self.shape
        return np.array([x, y, z], dtype=float) * self.voxel_size_nm

    def problems(self):
        """List the problems with these parameters (empty when they are usable)."""
        errors = []
        if len(self.shape) != 3 or any(int(s) != s or s < 8 for s in self.shape):
            return [f"shape must be three whole numbers of voxels (z, y, x), each at least 8; got {tuple(self.shape)}"]
        try:
            check_voxel_size(self.voxel_size)
        except InputError as exc:
            return [str(exc)]
        x, y, z = self.extent_nm()
        if z < MIN_EXTENT_NM["z"] or min(x, y) < MIN_EXTENT_NM["xy"]:
            errors.append(f"the volume is {x:g}×{y:g}×{z:g} nm (x×y×z); phantoms need at least "
                          f"{MIN_EXTENT_NM['xy']:g} nm in x and y and {MIN_EXTENT_NM['z']:g} nm in z "
                          "(raise the shape or the voxel size)")
        for imaging in (self.microscope, self.pm_imaging):
            snr = imaging.snr
            if snr is not None and not (np.isfinite(snr) and snr > 0):
                errors.append(f"SNR must be positive, got {snr:g}")
            if not 0 < imaging.tilt_range <= 90:
                errors.append(f"tilt range must be in (0, 90] degrees, got {imaging.tilt_range:g}")
        if int(self.microscope.voltage_kv) not in (100, 200, 300):
            errors.append(f"voltage must be 100, 200 or 300 kV, got {self.microscope.voltage_kv:g}")
        return list(dict.fromkeys(errors))  # both families' imaging often share the offending value

    def check(self):
        """Raise :class:`InputError` listing every problem, if any."""
        raise_problems(self.problems())


@dataclass
class Phantom:
    """One generated tomogram with its ground truth."""

    ts_id: str
    tomogram: np.ndarray
    membranes: np.ndarray
    rois: np.ndarray
    truth: dict
    decoys: np.ndarray = None


def item_rng(seed, kind, index):
    """Random generator for item ``index`` of a ``kind`` dataset: the same whether made alone or in a batch."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), _KIND_CODES[kind], int(index)]))


def ts_id_for(kind, index):
    """Tilt-series id of item ``index``, e.g. ``contacts_000``."""
    return f"{kind}_{index:03d}"


def generate_phantom(kind, seed=0, index=0, params=None):
    """Generate one phantom tomogram with membrane and ROI ground truth.

    Parameters
    ----------
    kind : {'contacts', 'invaginations', 'pm_contacts'}
        Contact sites (vesicles beside nanotubes, with distractors), vesicles with inward buds, or the second
        family: contact sites between a plasma membrane and bent tubes at different depths, with look-alikes.
    seed, index : int
        The dataset seed and the item's index; together they fix the result.
    params : PhantomParameters, optional

    Returns
    -------
    Phantom
    """
    if kind not in KINDS:
        raise InputError(f"unknown phantom kind {kind!r}; choose one of {', '.join(KINDS)}")
    params = params or PhantomParameters()
    params.check()
    start = time.perf_counter()
    rng = item_rng(seed, kind, index)
    extent = params.extent_nm()
    layout, spec_field, _ = _LAYOUTS[kind]
    scene = layout(extent, rng, getattr(params, spec_field))
    if not scene.rois:
        raise InputError(f"no {kind[:-1]} fits in a {extent[0]:g}×{extent[1]:g}×{extent[2]:g} nm volume; "
                         "raise the shape or the voxel size")
    shape = tuple(int(s) for s in params.shape)
    density, membranes, rois = render_scene(scene, shape, params.voxel_size_nm, params.bilayer_for(kind))
    decoys = rasterise_regions(scene.decoys, shape, params.voxel_size_nm)
    add_particles(density, scene.particles, params.voxel_size_nm)
    imaging = params.imaging(kind)
    form_image = image_density_coloured if isinstance(imaging, ColouredImaging) else image_density
    tomogram, signal_variance = form_image(density, params.voxel_size_nm, imaging, rng)
    ts_id = ts_id_for(kind, index)
    truth = _truth(ts_id, kind, seed, index, params, scene, rois)
    truth["signal_variance"] = signal_variance
    truth["seconds"] = round(time.perf_counter() - start, 3)
    return Phantom(ts_id, tomogram, membranes, rois, truth, decoys)


def _truth(ts_id, kind, seed, index, params, scene, rois):
    vs = params.voxel_size_nm
    roi_records = []
    for roi in scene.rois:
        record = roi.to_json()
        voxels = np.argwhere(rois == roi.label)
        record["voxels"] = int(len(voxels))
        if len(voxels):
            record["centroid_nm"] = [round(float(c), 3) for c in voxels.mean(axis=0)[::-1] * vs]
            record["bbox_zyx"] = [voxels.min(axis=0).tolist(), (voxels.max(axis=0) + 1).tolist()]
        roi_records.append(record)
    return {
        "tsId": ts_id, "kind": kind, "seed": int(seed), "index": int(index),
        "shape_zyx": [int(s) for s in params.shape], "voxel_size_A": float(params.voxel_size),
        "extent_nm_xyz": [float(e) for e in params.extent_nm()],
        "coordinates": "nm; x = column × voxel size, y = row × voxel size, z = section × voxel size",
        "imaging": params.imaging(kind).to_json(), "bilayer": params.bilayer_for(kind).to_json(),
        "gap_definition": "closest distance between the two membranes' mid-surfaces (bilayer centres)",
        "membranes": [m.to_json() for m in scene.membranes], "rois": roi_records,
        "distractors": scene.distractors,
        "placement": {"requested": scene.requested, "placed": scene.placed},
        **({"particles": len(scene.particles)} if scene.particles else {}),
    }


def write_phantom(phantom, out_dir, voxel_size):
    """Write a phantom's tomogram, label volumes and JSON into ``out_dir``; return their paths by role."""
    out_dir = Path(out_dir)
    paths = {"tomogram": out_dir / f"{phantom.ts_id}.mrc",
             "membranes": out_dir / f"{phantom.ts_id}_membranes.mrc",
             "rois": out_dir / f"{phantom.ts_id}_rois.mrc",
             "decoys": out_dir / f"{phantom.ts_id}_decoys.mrc",
             "truth": out_dir / f"{phantom.ts_id}.json"}
    write_mrc(paths["tomogram"], phantom.tomogram, voxel_size)
    write_mrc(paths["membranes"], phantom.membranes, voxel_size)
    write_mrc(paths["rois"], phantom.rois, voxel_size)
    write_mrc(paths["decoys"], phantom.decoys, voxel_size)
    paths["truth"].write_text(json.dumps(phantom.truth, indent=1))
    return paths


def _write_item(kind, out_dir, seed, index, params):
    """Generate phantom ``index`` and write it (one worker's job); return its manifest entry and, for the
    progress line, its number of membranes."""
    phantom = generate_phantom(kind, seed, index, params)
    paths = write_phantom(phantom, out_dir, params.voxel_size)
    entry = {"tsId": phantom.ts_id, **{role: p.name for role, p in paths.items()},
             "rois": len(phantom.truth["rois"]), "seconds": phantom.truth["seconds"]}
    return entry, len(phantom.truth["membranes"])


def _items(kind, out_dir, n, seed, params, workers):
    """(manifest entry, membrane count) of items 0..n-1 in index order, each yielded as it is written;
    ``workers`` processes generate them side by side (items are independent: each depends on (seed, index)
    only)."""
    if workers == 1:
        for index in range(n):
            yield _write_item(kind, out_dir, seed, index, params)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_write_item, [kind] * n, [out_dir] * n, [seed] * n, range(n), [params] * n)


def default_workers(n):
    """Processes :func:`write_dataset` uses by default: one per available core, at most one per item."""
    return max(1, min(int(n), available_cores()))


def write_dataset(kind, out_dir, n, seed=0, params=None, quiet=False, workers=None):
    """Generate and write ``n`` phantoms of ``kind`` into ``out_dir`` (created if needed).

    Parameters
    ----------
    kind : {'contacts', 'invaginations'}
    out_dir : path-like
    n : int
        Number of tomograms.
    seed : int
        Dataset seed; item i depends on (seed, i) only, so the first n items of a larger set are the same.
    params : PhantomParameters, optional
    quiet : bool
        No progress output.
    workers : int, optional
        Processes generating items side by side (default :func:`default_workers`). Each holds one phantom
        in memory: about 12 bytes per voxel of ``params.shape``.

    Returns
    -------
    dict
        The manifest also written to ``out_dir/dataset.json``: kind, seed, parameters and, per item, its
        tsId, file names, ROI count and generation time.
    """
    from ..io import ensure_output_dir

    if int(n) != n or n < 1:
        raise InputError(f"the number of tomograms must be a whole number ≥ 1, got {n}")
    if workers is not None and (int(workers) != workers or workers < 1):
        raise InputError(f"the number of workers must be a whole number ≥ 1, got {workers}")
    params = params or PhantomParameters()
    params.check()
    out_dir = ensure_output_dir(out_dir)
    n = int(n)
    workers = default_workers(n) if workers is None else min(int(workers), n)
    progress = Progress(f"synth {kind}", n, quiet=quiet)
    items = []
    for item, membranes in _items(kind, out_dir, n, seed, params, workers):
        items.append(item)
        progress.step(f"{item['tsId']}: {item['rois']} ROI{'' if item['rois'] == 1 else 's'}, "
                      f"{membranes} membranes, {item['seconds']:.1f} s")
    manifest = {"kind": kind, "seed": int(seed), "n": n, "shape_zyx": list(params.shape),
                "voxel_size_A": params.voxel_size, "imaging": params.imaging(kind).to_json(), "items": items}
    (out_dir / "dataset.json").write_text(json.dumps(manifest, indent=1))
    return manifest
