"""Save and load trained TomoROIS models: weights with everything needed to use them correctly.

A model file (``torch.save`` of plain types, loadable with ``weights_only=True``) holds the network's
hyper-parameters, its weights, the voxel size it works at, the neighbouring sections and z slabs it reads
and the section planes it labels (2D models), and a record of its training. Files of x–y models without
slabs are written as format version 1, which older versions of this program read too.
"""
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..io import atomic_output

FORMAT = "tomorois-msd"
VERSION = 2


@dataclass
class TrainedModel:
    """A network with the grid it works on.

    Attributes
    ----------
    net : MSDNet
    voxel_size : float
        Voxel size (Å) of the grid the network was trained on; inputs are resampled to it.
    context : int
        Neighbouring sections on each side given as extra input channels (2D models; 0 for 3D).
    far_context : int
        z-averaged slabs on each side beyond those sections (2D models; see :mod:`.sections`).
    planes : tuple of str
        Section planes the network labels, whose probabilities are averaged (2D models; see :mod:`.planes`).
    training : dict
        Training parameters, data and history, as saved.
    source : str
        The file it was loaded from ("" for a new model).
    """

    net: object
    voxel_size: float
    context: int = 0
    training: dict = field(default_factory=dict)
    far_context: int = 0
    planes: tuple = ("xy",)
    source: str = ""

    @property
    def dims(self):
        return self.net.dims


def save_model(path, model):
    """Write ``model`` (a :class:`TrainedModel`) to ``path`` atomically."""
    import torch

    state = {name: tensor.detach().cpu() for name, tensor in model.net.state_dict().items()}
    # Version 1 readers ignore unknown keys: they would feed a model with slabs too few channels, and label
    # x–y sections only with a model trained on several planes.
    plain = not model.far_context and tuple(model.planes) == ("xy",)
    payload = {"format": FORMAT, "version": 1 if plain else VERSION, "config": dict(model.net.config),
               "state_dict": state, "voxel_size_A": float(model.voxel_size), "context": int(model.context),
               "far_context": int(model.far_context), "planes": list(model.planes), "training": model.training}
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)


def load_model(path, device="cpu"):
    """Read a model file written by :func:`save_model`.

    Raises
    ------
    InputError
        If the file is missing or is not a TomoROIS model.
    """
    from .msd import MSDNet

    payload = read_model_payload(path, FORMAT, VERSION, "TomoROIS model", device)
    net = load_weights(MSDNet(**payload["config"]), payload, path)
    net.to(device)
    return TrainedModel(net, payload["voxel_size_A"], payload.get("context", 0), payload.get("training", {}),
                        payload.get("far_context", 0), tuple(payload.get("planes", ["xy"])), str(path))


def read_model_payload(path, file_format, version, what, device="cpu"):
    """The dict a model file holds, once it is known to be one: the file exists, PyTorch reads it (weights
    only), its ``format`` is ``file_format`` and its version at most ``version``.

    Raises
    ------
    InputError
        Naming the file and which of these failed; ``what`` names the kind of model (e.g. "membrane model").
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such {what} file")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or corrupt files
        raise InputError(f"{path}: not a readable {what} ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(payload, dict) or payload.get("format") != file_format:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise InputError(f"{path}: not a {what} file (format {found!r})")
    if payload.get("version", 0) > version:
        raise InputError(f"{path}: {what} format version {payload['version']} is newer than this program's "
                         f"({version}); update tomorois-surfora")
    return payload


def load_weights(net, payload, path):
    """``net`` with the payload's weights; a mismatch with its configuration is an :class:`InputError`."""
    try:
        net.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise InputError(f"{path}: weights do not match the saved configuration ({str(exc)[:160]})") from None
    return net
