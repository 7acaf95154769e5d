"""The whole workflow for a folder of tomograms as one scripted Scipion project: import → ROIs (predict,
extract) → membranes segmented inside the ROIs → SurfORA (restrict → extract surfaces → orient → mesh →
measure distances), then a table per tomogram.

    .venv/bin/python examples/workflow.py FOLDER [--pattern '*.mrc'] [--voxel-size Å] [--name PROJECT]
        [--roi-model FILE] [--membrane-model FILE] [--threads 2]
        [--queue [QUEUE]] [--job-memory MB] [--job-time MIN]

Models: the shipped ones by default (trained on phantoms), or model.pt files of your own (`roi train`,
`membrane train`). With --queue every engine call (one per tomogram or ROI) is its own job in QUEUE (default:
the first) of Scipion's hosts file $SCIPION_HOSTS, e.g. the one `bash scripts/slurm-local.sh up` writes (export
the SLURM_CONF it prints too). Runs headless (see examples/phantom_project.py); set
SCIPION_USER_DATA to keep the project. Writes the table as workflow_summary.csv in the project folder.
"""
import argparse
from collections import Counter
import os
import re
import sys
import time
from pathlib import Path

from tomorois_surfora.tests.scipion_env import configure

configure()  # must run before the first pyworkflow import

from pyworkflow.project import Manager  # noqa: E402
from pyworkflow.protocol.hosts import HostConfig  # noqa: E402
from tomo.protocols import ProtImportTomograms  # noqa: E402

from tomorois_surfora.engine.io import read_csv, write_csv  # noqa: E402
from tomorois_surfora.protocols import (ProtImportModel, ProtMembraneSegment, ProtSurfaceExtract,  # noqa: E402
                                        ProtSurfaceMeasure, ProtSurfaceMesh, ProtSurfaceOrient, ProtSurfaceRestrict,
                                        ProtTomoRoisExtract, ProtTomoRoisPredict)
from tomorois_surfora.protocols.common import failures  # noqa: E402

SHIPPED_ROI_MODEL, SHIPPED_MEMBRANE_MODEL, MODEL_FILE = 1, 3, 0  # ProtImportModel's choices


class Workflow:
    """Runs protocols in one project, each with the same threads and (optionally) queue, printing progress."""

    def __init__(self, project, threads, queue=None):
        self.project, self.threads, self.queue = project, threads, queue
        self.started = time.time()

    def run(self, protocolClass, label, **kwargs):
        """Create, validate and run one protocol; exit with its errors if it cannot run or fails entirely."""
        prot = self.project.newProtocol(protocolClass, objLabel=label, numberOfThreads=self.threads, **kwargs)
        if self.queue:
            prot._useQueue.set(True)
            prot.setQueueParams(self.queue)
        errors = prot.validate()  # launchProtocol does not validate
        if errors:
            sys.exit(f"[workflow] {label}: " + "\n".join(errors))
        print(f"[workflow] {label} ...", flush=True)
        start = time.time()
        self.project.launchProtocol(prot, wait=True)
        prot = self.project.getProtocol(prot.getObjId())
        jobs = launched_jobs(prot)
        print(f"[workflow] {label}: {prot.getStatusMessage()} in {time.time() - start:.0f} s"
              + (f", {len(jobs)} queue jobs ({', '.join(jobs)})" if jobs else "")
              + f"; {(time.time() - self.started) / 60:.1f} min so far", flush=True)
        for key, message in failures(prot).items():
            print(f"[workflow]   FAILED {key}: {message}", flush=True)
        if prot.isFailed():
            sys.exit(f"[workflow] {label} failed: {prot.getErrorMessage()}")
        return prot


def launched_jobs(prot):
    """The queue job ids a protocol's run log names."""
    text = "".join(Path(p).read_text(errors="replace") for p in prot.getLogPaths() if os.path.isfile(p))
    return re.findall(r"Launched job with id (\d+)", text)


def queue_params(args):
    """[queue name, {parameter: value}] for the protocols, from the hosts file's queue and the options."""
    hosts = os.environ["SCIPION_HOSTS"]  # set by configure(); a project reads its hosts from there
    queues = HostConfig.load(hosts)["localhost"].getQueueSystem().getQueues() or {}
    if not queues:
        sys.exit(f"[workflow] {hosts} ($SCIPION_HOSTS) defines no queue: see config/hosts-slurm.conf")
    name = args.queue if args.queue != "first" else next(iter(queues))
    if name not in queues:
        sys.exit(f"[workflow] {hosts} has no queue {name!r}; it has {', '.join(queues)}")
    values = {entry[0]: entry[1] for entry in queues[name]}
    values.update({"QUEUE_FOR_JOBS": "Y"}, **{k: str(v) for k, v in (("JOB_MEMORY", args.job_memory),
                                                                      ("JOB_TIME", args.job_time)) if v})
    return hosts, [name, values]


def summary_rows(tomograms, rois, measured):
    """One row per tomogram: ROIs found, ROIs measured, contacts, closest and median membrane distance."""
    table = Path(measured._getExtraPath("contacts_distance.csv"))
    pairs = read_csv(table).to_dict("records") if table.is_file() else []
    tsIdOf = {item.getKey(): item.getTsId() for item in measured.measuredMeshes}  # the table's "roi" is the key
    found = Counter(roi.getTsId() for roi in rois)
    rows = []
    for tomogram in tomograms:
        tsId = tomogram.getTsId()
        mine = [p for p in pairs if tsIdOf.get(p["roi"]) == tsId]
        nearest = sorted(p["min"] for p in mine)
        medians = sorted(p["median"] for p in mine)
        rows.append({"tsId": tsId, "rois": found[tsId], "measured": sum(1 for t in tsIdOf.values() if t == tsId),
                     "membrane_pairs": len(mine), "closest_nm": nearest[0] if nearest else float("nan"),
                     "median_nm": medians[len(medians) // 2] if medians else float("nan")})
    return rows


def main(argv=None):
    """Run the workflow; return its protocols by role ("tomograms", "rois", "measured", ...), reloaded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder of tomograms (MRC)")
    parser.add_argument("--pattern", default="*.mrc", help="which files of the folder (default *.mrc)")
    parser.add_argument("--voxel-size", type=float, help="voxel size in Å (default: from the files' headers)")
    parser.add_argument("--name", default="tomorois_workflow", help="project name (a new project)")
    parser.add_argument("--roi-model", type=Path, help="TomoROIS model.pt (default: the shipped contact model)")
    parser.add_argument("--membrane-model", type=Path, help="membrane model.pt (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=2, help="steps run at once per protocol (default 2)")
    parser.add_argument("--queue", nargs="?", const="first", help="send each engine call to this queue")
    parser.add_argument("--job-memory", type=int, metavar="MB", help="memory per queue job (default: the queue's)")
    parser.add_argument("--job-time", type=int, metavar="MIN", help="time per queue job (default: the queue's)")
    args = parser.parse_args(argv)
    files = sorted(args.folder.glob(args.pattern))
    if not files:
        sys.exit(f"[workflow] no {args.pattern} in {args.folder}")
    hosts, queue = queue_params(args) if args.queue else (None, None)

    manager = Manager()
    if manager.hasProject(args.name):
        sys.exit(f"[workflow] project {args.name} exists: give another --name")
    project = manager.createProject(args.name)
    os.chdir(project.getPath())  # pyworkflow resolves a project's files relative to its folder
    print(f"[workflow] {len(files)} tomograms from {args.folder.resolve()}; project {project.getPath()}"
          + (f"; queue {queue[0]} of {hosts}" if queue else ""), flush=True)
    flow = Workflow(project, args.threads, queue)

    imported = flow.run(ProtImportTomograms, "import tomograms", filesPath=str(args.folder.resolve()),
                        filesPattern=args.pattern, samplingRate=args.voxel_size or header_voxel_size(files[0]))
    tomograms = imported.Tomograms
    roiModel = flow.run(ProtImportModel, "ROI model", **model_source(args.roi_model, SHIPPED_ROI_MODEL))
    predicted = flow.run(ProtTomoRoisPredict, "predict ROIs", inputModel=roiModel.model, inputTomograms=tomograms)
    rois = flow.run(ProtTomoRoisExtract, "extract ROIs", inputProbabilities=predicted.probabilities)
    membraneModel = flow.run(ProtImportModel, "membrane model",
                             **model_source(args.membrane_model, SHIPPED_MEMBRANE_MODEL))
    membranes = flow.run(ProtMembraneSegment, "segment membranes in ROIs", inputModel=membraneModel.model,
                         inputTomograms=tomograms, inputRois=rois.roiLabels)
    restricted = flow.run(ProtSurfaceRestrict, "restrict to ROIs", inputMembranes=membranes.membranes,
                          inputRois=rois.roiLabels)
    clouds = flow.run(ProtSurfaceExtract, "extract surfaces", inputMembranes=restricted.roiMembranes)
    oriented = flow.run(ProtSurfaceOrient, "orient normals", inputClouds=clouds.clouds, convention=2)
    meshes = flow.run(ProtSurfaceMesh, "mesh", inputClouds=oriented.orientedClouds,
                      inputMembranes=restricted.roiMembranes)
    measured = flow.run(ProtSurfaceMeasure, "measure distances", inputMeshes=meshes.meshes,
                        do_curvature=False, do_roughness=False)

    rows = summary_rows(list(tomograms), list(rois.rois), measured)
    write_csv(Path(project.getPath()) / "workflow_summary.csv", rows)
    print(f"\n{'tomogram':<24} {'ROIs':>5} {'measured':>9} {'pairs':>6} {'closest nm':>11} {'median nm':>10}")
    for r in rows:
        print(f"{r['tsId']:<24} {r['rois']:>5} {r['measured']:>9} {r['membrane_pairs']:>6} "
              f"{r['closest_nm']:>11.2f} {r['median_nm']:>10.2f}")
    print(f"\n[workflow] done in {(time.time() - flow.started) / 60:.1f} min; per-pair distances: "
          f"{measured._getExtraPath('contacts_distance.csv')}; table: {project.getPath()}/workflow_summary.csv")
    return {"project": project, "tomograms": imported, "rois": rois, "membranes": membranes, "measured": measured}


def header_voxel_size(path):
    """The voxel size in Å an MRC header states; exits asking for --voxel-size when it states none."""
    from tomorois_surfora.engine.errors import EngineError
    from tomorois_surfora.engine.io import open_mrc

    try:
        with open_mrc(path) as (_, voxel_size):
            return voxel_size
    except EngineError as exc:
        sys.exit(f"[workflow] {exc}; give --voxel-size")


def model_source(path, shipped):
    """ProtImportModel's parameters for a model file, or for the shipped model ``shipped``."""
    return {"source": MODEL_FILE, "filePath": str(path.resolve())} if path else {"source": shipped}


if __name__ == "__main__":
    main()
