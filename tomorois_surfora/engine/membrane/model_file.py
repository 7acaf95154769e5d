"""Save and load membrane models: architecture, weights, grid, preprocessing and the training record."""
from dataclasses import dataclass, field

from pathlib import Path

from ..errors import InputError
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
    """

    net: object
    voxel_size: float
    sections: int
    preprocess: PreprocessParameters = field(default_factory=PreprocessParameters)
    training: dict = field(default_factory=dict)


def save_membrane_model(path, model):
    """Write ``model`` to ``path`` atomically (``torch.save`` of plain types)."""
    import torch

    payload = {"format": FORMAT, "version": VERSION, "config": dict(model.net.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.net.state_dict().items()},
               "voxel_size_A": float(model.voxel_size), "sections": int(model.sections),
               "preprocess": model.preprocess.to_dict(), "training": model.training}
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)


def load_membrane_model(path, device="cpu"):
    """Read a file written by :func:`save_membrane_model`.

    Raises
    ------
    InputError
        If the file is missing, unreadable or not a membrane model (e.g. a TomoROIS ROI model).
    """
    import torch

    from .network import MembraneNet

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such membrane model file")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise InputError(f"{path}: not a readable model file ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise InputError(f"{path}: not a membrane model (format {found!r}; `membrane train` writes them)")
    if payload.get("version", 0) > VERSION:
        raise InputError(f"{path}: membrane model format {payload['version']} is newer than this program reads "
                         f"({VERSION}); update tomorois-surfora")
    net = MembraneNet(**payload["config"])
    net.load_state_dict(payload["state_dict"])
    return MembraneModel(net.to(device), payload["voxel_size_A"], payload["sections"],
                         PreprocessParameters(**payload["preprocess"]), payload.get("training", {}))
