"""Protocol: generate synthetic membrane tomograms with ground truth inside a Scipion project."""
import dataclasses
import json

from pwem.objects import Transform
from pwem.protocols import EMProtocol
from pyworkflow.protocol import STEPS_PARALLEL, params
from tomo.objects import SetOfTomoMasks, SetOfTomograms, TomoAcquisition, TomoMask, Tomogram

from ..engine.synth import KINDS, Microscope, PhantomParameters, generate_phantom, ts_id_for, write_phantom


OUTPUT_TOMOGRAMS, OUTPUT_MEMBRANES, OUTPUT_ROIS, OUTPUT_DECOYS = "tomograms", "membraneMasks", "roiMasks", "decoyMasks"
# A dict, not an Enum: Enum members with equal values (several SetOfTomoMasks) would be aliases of one another.
PHANTOM_OUTPUTS = {OUTPUT_TOMOGRAMS: SetOfTomograms, OUTPUT_MEMBRANES: SetOfTomoMasks, OUTPUT_ROIS: SetOfTomoMasks,
                   OUTPUT_DECOYS: SetOfTomoMasks}


class ProtTomoRoisPhantoms(EMProtocol):
    """Generate synthetic cryo-ET tomograms of membranes with ground truth.

    Contact sites: lipid vesicles beside nanotubes at 10-30 nm gaps, with distractors (lone tubes, lone
    vesicles, vesicle-in-vesicle pairs at similar gaps). Invaginations: vesicles with inward buds of 20-80 nm
    diameter opening along z or in x-y, with plain vesicles. Each bilayer is two Gaussian leaflets, imaged
    with a missing wedge, a phase-flipped CTF and Gaussian noise. Outputs the tomograms, the membrane
    instance labels, the ROI instance labels and decoy labels (the contact-like region inside each
    vesicle-in-vesicle pair: a ready-made penalty mask for training); every object's parameters are in
    extra/<tsId>.json.
    """

    _label = "phantoms (synthetic membranes)"
    _references = ["Cheng2026"]
    _possibleOutputs = PHANTOM_OUTPUTS
    stepsExecutionMode = STEPS_PARALLEL

    def _defineParams(self, form):
        form.addSection(label="Phantoms")
        form.addParam("kind", params.EnumParam, choices=["contact sites", "invaginations", "plasma-membrane contacts"],
                      default=0,
                      display=params.EnumParam.DISPLAY_HLIST, label="Phantom kind",
                      help="Contact sites: vesicles beside nanotubes, with distractors. "
                           "Invaginations: vesicles with inward buds, with plain vesicles. "
                           "Plasma-membrane contacts: the second, independent family (a membrane crossing the "
                           "field, bent tubes at different depths touching it at one place, look-alikes, coloured "
                           "noise and tilt axis x); the imaging values below apply to it too.")
        form.addParam("nTomograms", params.IntParam, default=3, label="Number of tomograms")
        form.addParam("seed", params.IntParam, default=0, label="Random seed",
                      help="The same seed gives the same tomograms.")
        defaults, microscope = PhantomParameters(), Microscope()
        form.addLine("Size (voxels)", help="Tomogram size in voxels; objects are sized in nm.")
        for axis, size in zip("XYZ", defaults.shape[::-1]):
            form.addParam(f"size{axis}", params.IntParam, default=size, label=axis)
        form.addParam("samplingRate", params.FloatParam, default=defaults.voxel_size, label="Voxel size (Å)")
        form.addSection(label="Imaging")
        form.addParam("snr", params.FloatParam, default=microscope.snr, label="SNR",
                      help="Signal variance over noise variance, after the missing wedge and the CTF.")
        form.addParam("tiltRange", params.FloatParam, default=microscope.tilt_range, label="Tilt range (± deg)",
                      help="The missing wedge is everything beyond this tilt (tilt axis y).")
        form.addParam("defocus", params.FloatParam, default=microscope.defocus_um, label="Defocus (µm)",
                      expertLevel=params.LEVEL_ADVANCED)
        form.addParallelSection(threads=2, mpi=0)

    # --------------------------------------------------------------------------------- steps
    def _insertAllSteps(self):
        steps = [self._insertFunctionStep(self.generateStep, index, prerequisites=[])
                 for index in range(self.nTomograms.get())]
        self._insertFunctionStep(self.createOutputStep, prerequisites=steps)

    def generateStep(self, index):
        phantom = generate_phantom(self._kind(), self.seed.get(), index, self._phantomParameters())
        write_phantom(phantom, self._getExtraPath(), self.samplingRate.get())

    def createOutputStep(self):
        sampling = self.samplingRate.get()
        acquisition = TomoAcquisition(angleMin=-self.tiltRange.get(), angleMax=self.tiltRange.get())
        tomograms = SetOfTomograms.create(self._getPath(), template="tomograms%s.sqlite")
        membranes = SetOfTomoMasks.create(self._getPath(), template="tomomasks%s.sqlite", suffix="membranes")
        rois = SetOfTomoMasks.create(self._getPath(), template="tomomasks%s.sqlite", suffix="rois")
        decoys = SetOfTomoMasks.create(self._getPath(), template="tomomasks%s.sqlite", suffix="decoys")
        for output in (tomograms, membranes, rois, decoys):
            output.setSamplingRate(sampling)
            output.setAcquisition(acquisition.clone())
        for index in range(self.nTomograms.get()):
            tsId = ts_id_for(self._kind(), index)
            tomoFile = self._getExtraPath(f"{tsId}.mrc")
            tomograms.append(self._newVolume(Tomogram(), tomoFile, tsId, acquisition))
            for output, suffix in ((membranes, "membranes"), (rois, "rois"), (decoys, "decoys")):
                mask = self._newVolume(TomoMask(), self._getExtraPath(f"{tsId}_{suffix}.mrc"), tsId, acquisition)
                mask.setVolName(tomoFile)
                output.append(mask)
        self._defineOutputs(**{OUTPUT_TOMOGRAMS: tomograms, OUTPUT_MEMBRANES: membranes, OUTPUT_ROIS: rois,
                               OUTPUT_DECOYS: decoys})

    # --------------------------------------------------------------------------------- info
    def _validate(self):
        errors = self._phantomParameters().problems()
        if self.nTomograms.get() is None or self.nTomograms.get() < 1:
            errors.append("The number of tomograms must be at least 1.")
        return errors

    def _summary(self):
        if not self.hasAttribute(OUTPUT_ROIS):
            return ["Outputs not ready yet."]
        rois = gaps = 0
        lines = []
        for index in range(self.nTomograms.get()):
            with open(self._getExtraPath(f"{ts_id_for(self._kind(), index)}.json")) as handle:
                truth = json.load(handle)
            rois += len(truth["rois"])
            gaps += sum(1 for d in truth["distractors"] if "gap_nm" in d)
        lines.append(f"{self.nTomograms.get()} {self._kind()} tomograms of {self.sizeX.get()}×{self.sizeY.get()}"
                     f"×{self.sizeZ.get()} voxels at {self.samplingRate.get():g} Å, SNR {self.snr.get():g}, "
                     f"tilt ±{self.tiltRange.get():g}°.")
        lines.append(f"{rois} ground-truth ROIs; {gaps} vesicle-in-vesicle distractors.")
        return lines

    # --------------------------------------------------------------------------------- utils
    def _kind(self):
        return KINDS[self.kind.get()]

    def _phantomParameters(self):
        imaging = dict(snr=self.snr.get(), tilt_range=self.tiltRange.get(), defocus_um=self.defocus.get())
        shape = (self.sizeZ.get(), self.sizeY.get(), self.sizeX.get())
        params = PhantomParameters(shape=shape, voxel_size=self.samplingRate.get(), microscope=Microscope(**imaging))
        params.pm_imaging = dataclasses.replace(params.pm_imaging, **imaging)
        return params

    def _newVolume(self, volume, fileName, tsId, acquisition):
        sampling = self.samplingRate.get()
        volume.setLocation(fileName)
        volume.setSamplingRate(sampling)
        volume.setTsId(tsId)
        volume.setAcquisition(acquisition.clone())
        origin = Transform()
        origin.setShifts(self.sizeX.get() / -2.0 * sampling, self.sizeY.get() / -2.0 * sampling,
                         self.sizeZ.get() / -2.0 * sampling)
        volume.setOrigin(origin)
        return volume
