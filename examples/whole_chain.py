"""The whole workflow as one scripted Scipion project, with no ground truth between the raw tomogram and the
numbers: phantoms → (fine-tune the shipped ROI model on annotated phantoms) → predict and extract ROIs on a
new tomogram → segment its membranes inside those ROIs (shipped membrane model) → restrict → extract
surfaces → orient → mesh → measure distances. At the end, and only there, each ROI's closest membrane
distance is printed beside the true gap of the phantom's contact it overlaps most.

    .venv/bin/python examples/whole_chain.py [PROJECT_NAME] [--minutes 1] [--annotated 2] [--size 256 256 128]

Runs headless (see examples/phantom_project.py); set SCIPION_USER_DATA to keep the project.
"""
import argparse
import json
import os
import sys

from tomorois_surfora.tests.scipion_env import configure

configure()  # must run before the first pyworkflow import

import numpy as np  # noqa: E402
from pyworkflow.project import Manager  # noqa: E402

from tomorois_surfora.engine.demo_chain import true_gaps_of_predicted  # noqa: E402
from tomorois_surfora.engine.io import read_mrc, read_vtp  # noqa: E402
from tomorois_surfora.protocols import (ProtImportModel, ProtMembraneSegment, ProtSurfaceExtract,  # noqa: E402
                                        ProtSurfaceMeasure, ProtSurfaceMesh, ProtSurfaceOrient, ProtSurfaceRestrict,
                                        ProtTomoRoisExtract, ProtTomoRoisPhantoms, ProtTomoRoisPredict,
                                        ProtTomoRoisTrain)



def run(project, protocolClass, label, **kwargs):
    """Create, validate and run one protocol; exit with its errors if it cannot run or fails."""
    prot = project.newProtocol(protocolClass, objLabel=label, **kwargs)
    errors = prot.validate()  # launchProtocol does not validate
    if errors:
        sys.exit(f"{label}: " + "\n".join(errors))
    print(f"[whole chain] {label} ...", flush=True)
    project.launchProtocol(prot, wait=True)
    if prot.isFailed():
        sys.exit(f"{label} failed: {prot.getErrorMessage()}")
    return project.getProtocol(prot.getObjId())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="tomorois_whole_chain")
    parser.add_argument("--minutes", type=float, default=1.0, help="ROI fine-tuning time (default 1)")
    parser.add_argument("--annotated", type=int, default=2, help="annotated phantoms to fine-tune on (default 2)")
    parser.add_argument("--size", type=int, nargs=3, default=(256, 256, 128), metavar=("X", "Y", "Z"),
                        help="phantom size in voxels of 10 Å (default 256 256 128)")
    args = parser.parse_args(argv)
    field = dict(sizeX=args.size[0], sizeY=args.size[1], sizeZ=args.size[2], samplingRate=10.0)
    manager = Manager()
    project = manager.loadProject(args.name) if manager.hasProject(args.name) else manager.createProject(args.name)
    os.chdir(project.getPath())  # pyworkflow resolves a project's files relative to its folder

    annotated = run(project, ProtTomoRoisPhantoms, "annotated phantoms", kind=0, nTomograms=args.annotated, seed=11,
                    **field)
    new = run(project, ProtTomoRoisPhantoms, "new tomogram", kind=0, nTomograms=1, seed=12, **field)
    roiStart = run(project, ProtImportModel, "shipped ROI model", source=1)
    roiModel = run(project, ProtTomoRoisTrain, "fine-tune ROI model", inputTomograms=annotated.tomograms,
                   inputMasks=annotated.roiMasks, penaltyMasks=annotated.decoyMasks, initialModel=roiStart.model,
                   epochs=0, timeLimit=args.minutes, learningRate=2e-4)
    predicted = run(project, ProtTomoRoisPredict, "predict ROIs", inputModel=roiModel.model,
                    inputTomograms=new.tomograms)
    rois = run(project, ProtTomoRoisExtract, "extract ROIs", inputProbabilities=predicted.probabilities)
    membraneModel = run(project, ProtImportModel, "shipped membrane model", source=3)
    membranes = run(project, ProtMembraneSegment, "segment membranes in ROIs", inputModel=membraneModel.model,
                    inputTomograms=new.tomograms, inputRois=rois.roiLabels)
    restricted = run(project, ProtSurfaceRestrict, "restrict", inputMembranes=membranes.membranes,
                     inputRois=rois.roiLabels)
    clouds = run(project, ProtSurfaceExtract, "extract surfaces", inputMembranes=restricted.roiMembranes)
    oriented = run(project, ProtSurfaceOrient, "orient normals", inputClouds=clouds.clouds, convention=2)
    meshes = run(project, ProtSurfaceMesh, "mesh", inputClouds=oriented.orientedClouds,
                 inputMembranes=restricted.roiMembranes)
    measured = run(project, ProtSurfaceMeasure, "measure distances", inputMeshes=meshes.meshes,
                   do_curvature=False, do_roughness=False)

    # The truth, used only now: which true contact each predicted ROI overlaps, and its gap.
    tomogram = next(iter(new.tomograms))
    tsId = tomogram.getTsId()
    with open(new._getExtraPath(f"{tsId}.json")) as handle:
        trueGaps = {roi["label"]: roi["gap_nm"] for roi in json.load(handle)["rois"]}
    predictedRois = read_mrc(next(iter(rois.roiLabels)).getFileName())[0]
    trueRois = read_mrc(next(iter(new.roiMasks)).getFileName())[0]
    gaps = true_gaps_of_predicted(predictedRois, trueRois, trueGaps)
    print(f"\n{tsId}: {len(trueGaps)} true contacts, {len(np.unique(predictedRois)) - 1} predicted ROIs, "
          f"{measured.measuredMeshes.getSize()} measured")
    errors = []
    for item in sorted((m.clone() for m in measured.measuredMeshes), key=lambda m: m.getRoiLabel()):
        closest = float(np.nanmin(read_vtp(item.getFileName()).point_data["distance_nm"]))
        gap = gaps.get(item.getRoiLabel())
        print(f"ROI {item.getRoiLabel()}: closest membrane distance {closest:.2f} nm, true gap "
              + ("n/a (a false ROI)" if gap is None else f"{gap:.2f} nm"))
        if gap is not None:
            errors.append(abs(closest - gap))
    if errors:
        print(f"within 1 nm of the true gap: {sum(e <= 1.0 for e in errors)} of {len(errors)} matched ROIs")
    print("project:", project.getPath())


if __name__ == "__main__":
    main()
