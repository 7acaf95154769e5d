"""Script a Scipion project from Python: create a project, run the phantom protocol, read its outputs.

    .venv/bin/python examples/phantom_project.py [PROJECT_NAME]

Runs headless: the environment (domain, hosts.conf, user-data folder, python) is set before pyworkflow is
imported; set SCIPION_USER_DATA to keep the project somewhere other than a temporary folder.
"""
import os
import sys

from tomorois_surfora.tests.scipion_env import configure

configure()  # must run before the first pyworkflow import

from pyworkflow.project import Manager  # noqa: E402

from tomorois_surfora.protocols import ProtTomoRoisPhantoms  # noqa: E402


def main(name="tomorois_phantoms"):
    manager = Manager()
    project = manager.loadProject(name) if manager.hasProject(name) else manager.createProject(name)
    os.chdir(project.getPath())  # pyworkflow resolves a project's files relative to its folder
    prot = project.newProtocol(ProtTomoRoisPhantoms, objLabel="contact-site phantoms", kind=0, nTomograms=2,
                               sizeX=128, sizeY=128, sizeZ=64, samplingRate=20.0, seed=1)
    errors = prot.validate()  # launchProtocol does not validate
    if errors:
        sys.exit("\n".join(errors))
    project.launchProtocol(prot, wait=True)
    if prot.isFailed():
        sys.exit(f"{prot.getRunName()} failed: {prot.getErrorMessage()}")
    for tomo, rois in zip(prot.tomograms, prot.roiMasks):
        print(tomo.getTsId(), tomo.getFileName(), tomo.getDim(), f"{tomo.getSamplingRate():g} Å/px",
              "ROI labels:", rois.getFileName())
    print("project:", project.getPath())


if __name__ == "__main__":
    main(*sys.argv[1:])
