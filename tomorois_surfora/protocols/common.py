"""Helpers shared by the protocols: the engine's command line, pairing sets by tsId, per-item failures."""
import os
import shlex
import sys
import threading

ENGINE_MODULE = "tomorois_surfora.engine"


def engineProgram():
    """Program and leading arguments to run the engine CLI with this Python (for ``runJob``)."""
    return sys.executable, f"-m {ENGINE_MODULE}"


def engineCommand(*args):
    """The engine's command line as a list (for subprocess): this Python, ``-m`` the engine, ``args``."""
    return [sys.executable, "-m", ENGINE_MODULE, *map(str, args)]


def engineArgs(*parts):
    """Quote engine arguments for ``runJob``; None parts are skipped, (nested) lists are expanded."""
    words = []

    def add(part):
        if isinstance(part, (list, tuple)):
            for p in part:
                add(p)
        elif part is not None:
            words.append(str(part))

    add(parts)
    return " ".join(shlex.quote(w) for w in words)


# A protocol's steps run in threads, and a set's items are read through its database mapper's one cursor:
# two steps iterating the same input set at once can crash the process (seen: a segmentation fault of a
# queued run). Every read of a set's items in a step goes through this lock.
_SET_READ_LOCK = threading.RLock()


def byTsId(objects):
    """{tsId: clone} of a set's items (Tomogram, TomoMask); safe to call from parallel steps."""
    with _SET_READ_LOCK:
        return {item.getTsId(): item.clone() for item in objects}


def byKey(items):
    """{key: clone} of a set of per-ROI items (see ``objects.RoiSurfaceItem.getKey``); safe to call from
    parallel steps."""
    with _SET_READ_LOCK:
        return {item.getKey(): item.clone() for item in items}


def insertStepPerKey(protocol, step, keys, after=()):
    """Insert ``step(key)`` for every key, all free to run in parallel once the steps ``after`` are done, then
    ``protocol.createOutputStep``."""
    steps = [protocol._insertFunctionStep(step, key, prerequisites=list(after)) for key in sorted(keys)]
    protocol._insertFunctionStep(protocol.createOutputStep, prerequisites=steps)


def insertStepPerTsId(protocol, step, objects, after=()):
    """Insert ``step(tsId)`` for every item of ``objects`` (see :func:`insertStepPerKey`)."""
    insertStepPerKey(protocol, step, byTsId(objects), after)


def runEngine(protocol, key, *args):
    """Run the engine CLI through ``runJob`` (so a queue can take it); a failure is recorded for ``key``
    and returns False, so that the other items' outputs are still registered.

    The engine writes its exit code and error lines to files named in its environment: a job sent to a queue
    (SLURM) comes back without its exit status, and a job killed for memory or time leaves no exit code.
    """
    from pyworkflow.utils import Environ

    from ..engine.errors import ERROR_FILE_VARIABLE, EXIT_FILE_VARIABLE

    program, lead = engineProgram()
    errorFile, exitFile = protocol._getExtraPath(f"{key}.error"), protocol._getExtraPath(f"{key}.exit")
    for stale in (errorFile, exitFile):
        if os.path.exists(stale):
            os.remove(stale)
    env = Environ(protocol._getEnviron() or os.environ)
    env[ERROR_FILE_VARIABLE], env[EXIT_FILE_VARIABLE] = os.path.abspath(errorFile), os.path.abspath(exitFile)
    try:
        protocol.runJob(program, f"{lead} {engineArgs(*args)}", env=env)
    except Exception as exc:  # runJob raises a bare Exception on a non-zero exit
        recordFailure(protocol, key, readEngineError(errorFile) or exc)
        return False
    code = readExitCode(exitFile)
    if code == 0:
        return True
    recordFailure(protocol, key, readEngineError(errorFile) or (
        f"the engine exited with code {code}" if code is not None else
        "the engine run ended without finishing (killed, or past a queue's memory or time limit?); "
        "see the run's logs"))
    return False


def runEngineOrFail(protocol, key, *args):
    """:func:`runEngine` for a protocol's single item (training): raise its recorded failure."""
    if not runEngine(protocol, key, *args):
        raise RuntimeError(failures(protocol)[key])


def threadOption(protocol):
    """The engine's --threads for one call of a protocol whose steps run ``numberOfThreads`` at a time: a share
    of this machine's cores, or nothing (the engine then uses all the cores the job was given) when the calls
    go to a queue."""
    if protocol.useQueue():
        return None
    return ["--threads", max(1, (os.cpu_count() or 1) // max(1, protocol.numberOfThreads.get()))]


def readExitCode(path):
    """The exit code the engine wrote to ``path`` (see ``engine.errors.report_exit``), or None."""
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def readEngineError(path):
    """The engine's own error lines for a failed run (see ``engine.errors.report_error``), or None."""
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return "; ".join(dict.fromkeys(lines)) or None


def pairingProblems(tomograms, masks, role):
    """Messages for tomograms without a ``role`` mask and for masks whose size differs from the tomogram's."""
    problems = []
    tomos, others = byTsId(tomograms), byTsId(masks)
    missing = sorted(set(tomos) - set(others))
    if missing:
        problems.append(f"No {role} for tomogram(s) {', '.join(missing)} (masks are paired by tsId).")
    for tsId in sorted(set(tomos) & set(others)):
        if tuple(tomos[tsId].getDim()) != tuple(others[tsId].getDim()):
            problems.append(f"{role} {others[tsId].getFileName()} ({tsId}): size {others[tsId].getDim()} (x, y, z) "
                            f"does not match the tomogram's {tomos[tsId].getDim()}.")
    return problems


def recordFailure(protocol, tsId, error):
    """Note a failed item in extra/<tsId>.failed so that the other items' outputs are still registered."""
    text = str(error).strip()
    with open(protocol._getExtraPath(f"{tsId}.failed"), "w") as handle:
        handle.write(text.splitlines()[-1] if text else type(error).__name__)


def failures(protocol):
    """{tsId: message} for the items recorded by :func:`recordFailure`."""
    found = {}
    folder = protocol._getExtraPath()
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith(".failed"):
            with open(os.path.join(folder, name)) as handle:
                found[name[:-len(".failed")]] = handle.read()
    return found


def collectPerKey(protocol, items, output, fileName, make, failedMessage):
    """Append ``make(path, item)`` to ``output`` for every item (by ROI key) whose step wrote
    extra/<key>/``fileName(item)``; raise ``failedMessage`` with every recorded failure when none did."""
    failed = failures(protocol)
    for key, item in sorted(byKey(items).items()):
        path = protocol._getExtraPath(key, fileName(item))
        if key in failed or not os.path.isfile(path):
            continue
        output.append(make(path, item))
    if not len(output):
        raise RuntimeError(failedMessage + ": " + "; ".join(failed.values()))
    return output


def fileStem(item):
    """The item's file name without folder and extension."""
    return os.path.splitext(os.path.basename(item.getFileName()))[0]


def failureSummary(protocol):
    """Summary lines naming failed items."""
    return [f"FAILED {tsId}: {message}" for tsId, message in failures(protocol).items()]


def newMaskLike(template, fileName):
    """A TomoMask at ``fileName`` with the tsId, sampling rate, origin and acquisition of ``template``."""
    from tomo.objects import TomoMask

    mask = TomoMask()
    mask.copyInfo(template)
    mask.setLocation(fileName)
    mask.setTsId(template.getTsId())
    if template.hasOrigin():
        mask.setOrigin(template.getOrigin())
    mask.setVolName(template.getFileName() if not hasattr(template, "getVolName") or not template.getVolName()
                    else template.getVolName())
    return mask


def evaluatePairs(protocol, predictedSet, truthSet, score, combine, fileName):
    """Score every tsId the two mask sets share: ``score(predicted array, true array, predicted file)`` per
    tomogram, ``combine(list of scores)`` pooled; write {pooled, tomograms, unpaired} to extra/``fileName``."""
    import json

    from ..engine.io import read_mrc

    from ..engine.errors import InputError

    predicted, truth = byTsId(predictedSet), byTsId(truthSet)
    perTomogram = {}
    for tsId in sorted(set(predicted) & set(truth)):
        try:
            labels, _ = read_mrc(predicted[tsId].getFileName(), voxel_size=1.0)
            reference, _ = read_mrc(truth[tsId].getFileName(), voxel_size=1.0)
            if labels.shape != reference.shape:
                raise InputError(f"{predicted[tsId].getFileName()}: shape {labels.shape} (z, y, x) does not match "
                                 f"the ground truth's {reference.shape} ({truth[tsId].getFileName()})")
            perTomogram[tsId] = score(labels, reference, predicted[tsId].getFileName())
        except InputError as error:  # one unreadable pair must not lose the others' scores
            recordFailure(protocol, tsId, error)
    if not perTomogram:
        raise RuntimeError("No pair could be scored: " + "; ".join(failures(protocol).values()))
    result = {"pooled": combine(list(perTomogram.values())), "tomograms": perTomogram,
              "unpaired": sorted(set(predicted) ^ set(truth)), "failed": failures(protocol)}
    with open(protocol._getExtraPath(fileName), "w") as handle:
        json.dump(result, handle, indent=1)


def readExtraJson(protocol, fileName):
    """The JSON file extra/``fileName`` of ``protocol``, or None before it is written."""
    import json

    try:
        with open(protocol._getExtraPath(fileName)) as handle:
            return json.load(handle)
    except OSError:
        return None
