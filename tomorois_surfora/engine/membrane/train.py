"""Train a membrane network (hybrid 2.5D or plain U-Net) from scratch, or fine-tune one, on annotated tomograms.

The loss is the seed's: soft Dice + focal + binary cross-entropy on the membrane mask, plus
``edge_weight`` × cross-entropy on the membrane edge band for the hybrid's shape stream. Batches are random
stacks of ``sections`` consecutive sections of any of ``planes`` (x–y, x–z, y–z by default: membranes that
face the beam, faint in x–y sections under the missing wedge, are seen edge-on in the other two), ``patch``
pixels on a side, rotated by multiples of 90°, mirrored, reversed along the stack and jittered in contrast.
Validation holds out a band of each tomogram's rows (:func:`..roi.train.validation_rows`); the epoch with the
best validation Dice is kept. The learning rate anneals (cosine) over the epochs or the time limit; every
epoch writes a checkpoint to resume from (the epoch loop is :func:`..training_loop.run_epochs`, shared with
TomoROIS).
"""
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import InputError, raise_problems
from ..io import ensure_output_dir
from ..progress import Progress
from ..roi.planes import parse_planes, plane_problems
from ..roi.train import model_voxel_size, validation_rows
from ..training_loop import (CHECKPOINT_FILE, MODEL_FILE, epoch_total, fine_tuning_start, new_loop_state,
                             restore_checkpoint, run_epochs)
from .model_file import MembraneModel, load_membrane_model, save_membrane_model
from . import ARCHITECTURES
from .preprocess import PreprocessParameters

@dataclass
class MembraneTrainingParameters:
    """Training hyper-parameters; sizes in voxels of the model's grid (``voxel_size`` Å, default: the
    coarsest training tomogram's, at least ``min_voxel_size``)."""

    architecture: str = "hybrid"
    base: int = 16
    levels: int = 3
    sections: int = 5
    planes: str = "xy,xz,yz"
    patch: int = 128
    batch_size: int = 4
    epochs: int = 48
    steps_per_epoch: int = 40
    learning_rate: float = 2e-3
    lr_schedule: str = "cosine"
    final_lr_fraction: float = 0.02
    dice_weight: float = 1.0
    focal_weight: float = 1.0
    bce_weight: float = 1.0
    edge_weight: float = 0.5
    validation_fraction: float = 0.2
    validation_stacks: int = 16
    voxel_size: Optional[float] = None
    min_voxel_size: float = 0.0
    time_limit_min: Optional[float] = None
    seed: int = 0

    def problems(self):
        found = []
        if self.architecture not in ARCHITECTURES:
            found.append(f"architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}")
        for name in ("base", "levels", "sections", "batch_size", "epochs", "steps_per_epoch", "validation_stacks"):
            if getattr(self, name) < 1:
                found.append(f"{name} must be at least 1, got {getattr(self, name)}")
        found += plane_problems(self.planes)
        if self.patch < 16 or self.patch % 8:
            found.append(f"patch must be a multiple of 8 of at least 16 pixels, got {self.patch}")
        if not self.learning_rate > 0:
            found.append(f"learning rate must be positive, got {self.learning_rate}")
        if min(self.dice_weight, self.focal_weight, self.bce_weight, self.edge_weight) < 0:
            found.append("loss weights must be 0 or more")
        if not 0 < self.validation_fraction < 0.5:
            found.append(f"validation fraction must be in (0, 0.5), got {self.validation_fraction}")
        if self.time_limit_min is not None and not self.time_limit_min > 0:
            found.append(f"time limit must be positive (minutes), got {self.time_limit_min}")
        if self.voxel_size is not None and not self.voxel_size > 0:
            found.append(f"the model voxel size must be positive (Å), got {self.voxel_size}")
        return found


def new_membrane_model(params, voxel_size, preprocessing, device="cpu"):
    """A randomly initialised :class:`MembraneModel` with the architecture ``params`` describe."""
    from .network import MembraneNet

    net = MembraneNet(params.architecture, params.base, params.levels).to(device)
    return MembraneModel(net, float(voxel_size), params.sections, preprocessing, planes=parse_planes(params.planes))


def membrane_loss(logits, edge_logits, target, edges, params, focal_gamma=2.0):
    """Soft Dice + focal + BCE on membranes (+ BCE on edges when the network predicts them)."""
    import torch
    from torch.nn import functional as F

    probability = torch.sigmoid(logits)
    overlap = (probability * target).sum()
    dice = 1 - (2 * overlap + 1) / (probability.sum() + target.sum() + 1)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_true = torch.where(target > 0.5, probability, 1 - probability)
    focal = ((1 - p_true) ** focal_gamma * bce).mean()
    loss = params.dice_weight * dice + params.focal_weight * focal + params.bce_weight * bce.mean()
    if edge_logits is not None and params.edge_weight:
        loss = loss + params.edge_weight * F.binary_cross_entropy_with_logits(edge_logits, edges)
    return loss


def train_membranes(items, params, out_dir, preprocessing=None, init_model=None, resume=False, device="cpu",
                    quiet=False, voxel_size=None):
    """Train on loaded :class:`.data.MembraneItem` s and write ``model.pt``, ``checkpoint.pt`` and
    ``history.csv`` to ``out_dir``.

    Parameters
    ----------
    init_model : path or MembraneModel, optional
        A membrane model to fine-tune: its architecture, grid, sections and preprocessing replace those given.
    resume : bool
        Continue from ``out_dir/checkpoint.pt``.

    Returns
    -------
    dict
        Epochs run, best epoch, best validation Dice and loss, seconds, model path.
    """
    import torch

    from .data import StackSampler

    raise_problems(params.problems())
    out_dir = ensure_output_dir(out_dir)
    torch.manual_seed(params.seed)
    if init_model is not None:
        model = fine_tuning_start(init_model, load_membrane_model, device)
    else:
        model = new_membrane_model(params, voxel_size, preprocessing or PreprocessParameters(), device)
    splits = [validation_rows(np.count_nonzero(item.target, axis=(0, 2)), params.validation_fraction, params.patch)
              for item in items]
    owners = [i for i, (pieces, _) in enumerate(splits) for _ in pieces]
    train_sampler = StackSampler(items, owners, [r for pieces, _ in splits for r in pieces],
                                 model.sections, params.patch, model.planes)
    val_sampler = StackSampler(items, list(range(len(items))), [s[1] for s in splits], model.sections, params.patch,
                               model.planes)
    validation = [val_sampler.batch(1, np.random.default_rng([params.seed, 99, i]), False)
                  for i in range(params.validation_stacks)]
    optimizer = torch.optim.Adam(model.net.parameters(), lr=params.learning_rate)
    state = restore_checkpoint(out_dir / CHECKPOINT_FILE, model, optimizer) if resume else new_loop_state()
    model.training.update({"parameters": asdict(params), "items": [item.name for item in items],
                           "validation_rows": [list(s[1]) for s in splits], "voxel_size_A": model.voxel_size,
                           "preprocess": model.preprocess.to_dict(), "device": str(device)})
    progress = Progress("membrane train", epoch_total(params), quiet=quiet)
    progress.done = state["epoch"]
    parameters = sum(p.numel() for p in model.net.parameters())
    progress.info(f"{len(items)} tomograms on a {model.voxel_size:g} Å grid, {model.net.config['architecture']} "
                  f"network ({parameters / 1e6:.2f} M parameters), stacks of {train_sampler.sections} sections × "
                  f"{train_sampler.patch_y}×{train_sampler.patch_x} ({'/'.join(model.planes)} sections), "
                  f"{model.preprocess.describe()}, device {device}")

    def batch_loss(rng):
        batch = train_sampler.batch(params.batch_size, rng, True)
        image, target, edges = (torch.from_numpy(a).to(device) for a in batch)
        logits, edge_logits = model.net(image)
        return membrane_loss(logits, edge_logits, target, edges, params)

    state = run_epochs(model, optimizer, params, state, out_dir, batch_loss,
                       lambda: _validate(model.net, validation, params, device), save_membrane_model, progress)
    return {"epochs": state["epoch"], "best_epoch": state["best_epoch"], "best_val_dice": state["best_dice"],
            "best_val_loss": state["best_loss"], "seconds": round(state["seconds"], 1), "device": str(device),
            "model": str(out_dir / MODEL_FILE), "parameters": parameters}


def _validate(net, validation, params, device):
    import torch

    net.eval()
    total, overlap, volume = 0.0, 0.0, 0.0
    with torch.no_grad():
        for arrays in validation:
            image, target, edges = (torch.from_numpy(a).to(device) for a in arrays)
            logits, edge_logits = net(image)
            total += float(membrane_loss(logits, edge_logits, target, edges, params))
            predicted = logits > 0
            overlap += float((predicted & (target > 0.5)).sum())
            volume += float(predicted.sum() + (target > 0.5).sum())
    return total / len(validation), (2 * overlap / volume if volume > 0 else 0.0)


def train_membrane_files(tomograms, masks, params, out_dir, preprocessing=None, init_model=None, resume=False,
                         device="cpu", voxel_size=None, quiet=False):
    """Load (tomogram, membrane mask) MRC pairs and :func:`train_membranes` on them.

    Raises
    ------
    InputError
        Listing every unusable input before any training.
    """
    from .data import load_membrane_item

    raise_problems(params.problems())
    if not tomograms or len(tomograms) != len(masks):
        raise InputError(f"give one membrane mask per tomogram: {len(tomograms)} tomograms, {len(masks)} masks")
    if init_model is not None:
        init_model = load_membrane_model(init_model, device)  # read once: its grid now, its weights to train
        grid, preprocessing = init_model.voxel_size, init_model.preprocess
    else:
        grid = model_voxel_size(params, tomograms, voxel_size)
    preprocessing = preprocessing or PreprocessParameters()
    raise_problems(preprocessing.problems())
    progress = Progress("membrane train", len(tomograms), quiet=quiet)
    items, problems = [], []
    for tomogram, mask in zip(tomograms, masks):
        try:
            items.append(load_membrane_item(tomogram, mask, grid, preprocessing, voxel_size))
            progress.step(f"loaded {Path(tomogram).name} → {items[-1].image.shape} on the {grid:g} Å grid, "
                          f"{100 * items[-1].target.mean():.2f}% membrane")
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError(f"{len(problems)} of {len(tomograms)} training inputs unusable: " + "; ".join(problems))
    return train_membranes(items, params, out_dir, preprocessing, init_model, resume, device, quiet, grid)
