"""Save and load membrane models: architecture, weights, grid, preprocessing and the training record."""
from dataclasses import dataclass, field

from ..io import atomic_output
from .preprocess import PreprocessParameters

FORMAT = "tomorois-membrane"
VERSION = 1


@dataclass
class MembraneModel:
    """A membrane network with what is needed to use it.

    Attributes
    ----------
    net : MembraneNet
    voxel_size : float
        Voxel size (Å) of the grid it was trained on; tomograms are resampled to it.
    sections : int
        Consecutive sections it reads as one stack.
    preprocess : PreprocessParameters
    training : dict
    planes : tuple of str
        Section planes it reads (see :mod:`..roi.planes`); the probabilities of several are averaged.
    source : str
        The file it was loaded from ("" for a new model).
    """

    net: object
    voxel_size: float
    sections: int
    preprocess: PreprocessParameters = field(default_factory=PreprocessParameters)
    training: dict = field(default_factory=dict)
    source: str = ""
    planes: tuple = ("xy",)


def save_membrane_model(path, model):
    """Write ``model`` to ``path`` atomically (``torch.save`` of plain types)."""
    import torch

    payload = {"format": FORMAT, "version": VERSION, "config": dict(model.net.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.net.state_dict().items()},
               "voxel_size_A": float(model.voxel_size), "sections": int(model.sections),
               "preprocess": model.preprocess.to_dict(), "planes": list(model.planes), "training": model.training}
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)


def load_membrane_model(path, device="cpu"):
    """Read a file written by :func:`save_membrane_model`.

    Raises
    ------
    InputError
        If the file is missing, unreadable, not a membrane model (e.g. a TomoROIS ROI model) or its weights do
        not fit its configuration.
    """
    from ..roi.model_file import load_weights, read_model_payload
    from .network import MembraneNet

    payload = read_model_payload(path, FORMAT, VERSION, "membrane model", device)
    net = load_weights(MembraneNet(**payload["config"]), payload, path)
    return MembraneModel(net.to(device), payload["voxel_size_A"], payload["sections"],
                         PreprocessParameters(**payload["preprocess"]), payload.get("training", {}), str(path),
                         tuple(payload.get("planes", ["xy"])))
