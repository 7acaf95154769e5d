"""The whole workflow with no ground truth between the raw tomogram and the numbers, checked against the truth
at the end: phantoms → the shipped ROI model fine-tuned on annotated phantoms (one Scipion project) → then
examples/workflow.py on a new phantom tomogram with that model (a second project: import, predict and extract
ROIs, segment membranes inside them with the shipped membrane model, restrict, extract surfaces, orient, mesh,
measure). At the end, and only there, each ROI's closest membrane distance is printed beside the true gap of
the phantom's contact it overlaps most.

    .venv/bin/python examples/whole_chain.py [PROJECT_NAME] [--minutes 1] [--annotated 2] [--size 256 256 128]
        [--threads 2] [--queue [QUEUE]]

Runs headless (see examples/phantom_project.py); set SCIPION_USER_DATA to keep the projects. --queue is
workflow.py's (its engine calls go to SLURM; the fine-tuning runs here).
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
from tomorois_surfora.protocols import ProtImportModel, ProtTomoRoisPhantoms, ProtTomoRoisTrain  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workflow import SHIPPED_ROI_MODEL, Workflow  # noqa: E402
from workflow import main as run_workflow  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="tomorois_whole_chain")
    parser.add_argument("--minutes", type=float, default=1.0, help="ROI fine-tuning time (default 1)")
    parser.add_argument("--annotated", type=int, default=2, help="annotated phantoms to fine-tune on (default 2)")
    parser.add_argument("--size", type=int, nargs=3, default=(256, 256, 128), metavar=("X", "Y", "Z"),
                        help="phantom size in voxels of 10 Å (default 256 256 128)")
    parser.add_argument("--threads", type=int, default=2, help="steps run at once per protocol (default 2)")
    parser.add_argument("--queue", nargs="?", const="first", help="workflow.py's --queue")
    args = parser.parse_args(argv)
    field = dict(sizeX=args.size[0], sizeY=args.size[1], sizeZ=args.size[2], samplingRate=10.0)
    manager = Manager()
    if manager.hasProject(args.name):
        sys.exit(f"[whole chain] project {args.name} exists: give another name")
    project = manager.createProject(args.name)
    os.chdir(project.getPath())  # pyworkflow resolves a project's files relative to its folder
    flow = Workflow(project, threads=args.threads)

    annotated = flow.run(ProtTomoRoisPhantoms, "annotated phantoms", kind=0, nTomograms=args.annotated, seed=11,
                         **field)
    new = flow.run(ProtTomoRoisPhantoms, "new tomogram", kind=0, nTomograms=1, seed=12, **field)
    roiStart = flow.run(ProtImportModel, "shipped ROI model", source=SHIPPED_ROI_MODEL)
    roiModel = flow.run(ProtTomoRoisTrain, "fine-tune ROI model", inputTomograms=annotated.tomograms,
                        inputMasks=annotated.roiMasks, penaltyMasks=annotated.decoyMasks,
                        initialModel=roiStart.model, epochs=0, timeLimit=args.minutes, learningRate=2e-4)

    tomogram = next(iter(new.tomograms)).clone()
    tsId = tomogram.getTsId()
    truthFiles = [os.path.abspath(path) for path in (new._getExtraPath(f"{tsId}.json"),
                                                     next(iter(new.roiMasks)).getFileName())]
    done = run_workflow([os.path.dirname(os.path.abspath(tomogram.getFileName())), "--pattern", f"{tsId}.mrc",
                         "--voxel-size", "10", "--roi-model", roiModel.model.getPath(),
                         "--name", f"{args.name}_workflow", "--threads", str(args.threads)]
                        + (["--queue", args.queue] if args.queue else []))

    # The truth, used only now: which true contact each predicted ROI overlaps, and its gap (read from files
    # named before workflow.py moved the working folder to its own project).
    with open(truthFiles[0]) as handle:
        trueGaps = {roi["label"]: roi["gap_nm"] for roi in json.load(handle)["rois"]}
    predictedRois = read_mrc(next(iter(done["rois"].roiLabels)).getFileName())[0]
    trueRois = read_mrc(truthFiles[1])[0]
    gaps = true_gaps_of_predicted(predictedRois, trueRois, trueGaps)
    measured = done["measured"].measuredMeshes
    print(f"\n{tsId}: {len(trueGaps)} true contacts, {len(np.unique(predictedRois)) - 1} predicted ROIs, "
          f"{measured.getSize()} measured")
    errors = []
    for item in sorted((m.clone() for m in measured), key=lambda m: m.getRoiLabel()):
        closest = float(np.nanmin(read_vtp(item.getFileName()).point_data["distance_nm"]))
        gap = gaps.get(item.getRoiLabel())
        print(f"ROI {item.getRoiLabel()}: closest membrane distance {closest:.2f} nm, true gap "
              + ("n/a (a false ROI)" if gap is None else f"{gap:.2f} nm"))
        if gap is not None:
            errors.append(abs(closest - gap))
    if errors:
        print(f"within 1 nm of the true gap: {sum(e <= 1.0 for e in errors)} of {len(errors)} matched ROIs")
    print("projects:", project.getPath(), done["project"].getPath())


if __name__ == "__main__":
    main()
