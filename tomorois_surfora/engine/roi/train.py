"""Train an MS-D network from scratch (or fine-tune one) on a few annotated tomograms.

The loss is binary cross-entropy on random patches. ROIs are a few percent of a tomogram, so ROI voxels weigh
``positive_weight`` (by default √(background/ROI voxels), capped at 20); voxels of an optional penalty mask
(patterns the user flagged as false positives) weigh ``1 + penalty_weight``, which pushes the network's
confidence there down. With ``dice_weight`` > 0 a soft Dice term over each batch is added, which rewards
overlap with the ROIs directly rather than voxel by voxel. The last ``validation_fraction`` of every
tomogram's rows (y) is held out for validation (objects spread evenly in x–y, while z often has empty
margins), or, when that band holds no ROI, the band that holds about that share of the ROIs
(:func:`validation_rows`). With ``validation='tomograms'`` and at least three annotated tomograms, whole
tomograms are held out instead (:func:`validation_tomograms`): the score then says how the model does on a
tomogram it has not seen, which is what a user asks of it. The model with the highest validation Dice is
kept (the lowest validation loss when validation holds no ROI, :func:`..training_loop.better_epoch`).
With ``wedge_copies`` > 0, copies of the training tomograms with an extra missing wedge about other in-plane
axes also train (:mod:`.wedge_fade`), so that the network sees faint membranes in every orientation. The
learning rate anneals (cosine) over the epochs or the time limit. Every epoch writes a checkpoint, from which
training resumes (the epoch loop is :func:`..training_loop.run_epochs`, shared with the membrane network).
"""
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import InputError, raise_problems
from ..io import ensure_output_dir
from ..progress import Progress
from ..training_loop import (CHECKPOINT_FILE, LR_SCHEDULES, MODEL_FILE, epoch_total, fine_tuning_start,
                             new_loop_state, restore_checkpoint, run_epochs)
from .batch_turn import INTERPOLATIONS
from .model_file import TrainedModel, load_model, save_model
from .planes import parse_planes, plane_problems
from .sections import channel_count

VALIDATION_MODES = ("rows", "tomograms")
ROTATIONS = ("quarter", "any")  # x–y augmentation of 2D patches: quarter turns, or any angle (see .patches)
MIN_TOMOGRAMS_HELD_OUT = 3  # annotated tomograms needed before whole ones are held out


@dataclass
class TrainingParameters:
    """Training hyper-parameters. Sizes are in voxels of the model's grid, whose voxel size is ``voxel_size``.

    ``voxel_size`` None means: the coarsest training tomogram's voxel size, but at least ``min_voxel_size``
    (ROIs are tens of nm across; a 2 nm grid sees them whole at a quarter of the cost of a 1 nm one).

    Width 2 and 3 far z slabs are the defaults because together they gave the best contact-site model in the
    README's 25-minute CPU benchmark (width 1 with no slabs missed 7 of 60 sites, width 2 with 3 slabs 1).
    The soft Dice term (``dice_weight`` 1) made that model's ROI boundaries sharper: voxel Dice 0.83 instead of
    0.76 at the extraction's default threshold of 0.5. Four neighbouring sections on each side (``context`` 4,
    which also moves the far slabs out to 5–9, 10–19 and 20–39 sections) took contact Dice from 0.84 to 0.86
    on 180 held-out ROIs. Near-miss patches (``near_miss_fraction``, centred within ``near_miss_nm`` above or
    below an ROI) stay off by default: 0.125 gained 0.022 Dice over a rerun without them, about the spread of
    two runs of one setting, and let more false ROIs through.
    """

    dims: int = 2
    depth: int = 50
    width: int = 2
    max_dilation: int = 10
    context: int = 4
    far_context: int = 3
    planes: str = "xy"
    voxel_size: Optional[float] = None
    min_voxel_size: float = 20.0
    patch: int = 96
    batch_size: int = 4
    epochs: int = 30
    steps_per_epoch: int = 40
    learning_rate: float = 2e-3
    lr_schedule: str = "cosine"
    final_lr_fraction: float = 0.02
    foreground_fraction: float = 0.5
    near_miss_fraction: float = 0.0
    near_miss_nm: float = 16.0
    rotations: str = "quarter"
    turn_interpolation: str = "nearest"
    blur_share: float = 0.0
    blur_sigma: float = 0.6
    wedge_copies: int = 0
    wedge_tilt_deg: float = 60.0
    penalty_weight: float = 5.0
    positive_weight: Optional[float] = None
    dice_weight: float = 1.0
    validation_fraction: float = 0.2
    validation: str = "rows"
    validation_patches: int = 24
    time_limit_min: Optional[float] = None
    seed: int = 0

    def problems(self):
        """Human-readable problems with these values (empty when valid)."""
        found = []
        if self.dims not in (2, 3):
            found.append(f"dims must be 2 or 3, got {self.dims}")
        for name in ("depth", "width", "max_dilation", "patch", "batch_size", "epochs", "steps_per_epoch",
                     "validation_patches"):
            if getattr(self, name) < 1:
                found.append(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.context < 0:
            found.append(f"context must be 0 or more sections, got {self.context}")
        if not 0 <= self.far_context <= 8:
            found.append(f"far context must be 0 to 8 slabs on each side, got {self.far_context}")
        found += plane_problems(self.planes, self.dims)
        if self.voxel_size is not None and not self.voxel_size > 0:
            found.append(f"the model voxel size must be positive (Å), got {self.voxel_size}")
        if not self.learning_rate > 0:
            found.append(f"learning rate must be positive, got {self.learning_rate}")
        if self.lr_schedule not in LR_SCHEDULES:
            found.append(f"learning-rate schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if not 0 <= self.final_lr_fraction <= 1:
            found.append(f"final learning-rate fraction must be in [0, 1], got {self.final_lr_fraction}")
        if not 0 <= self.foreground_fraction <= 1:
            found.append(f"foreground fraction must be in [0, 1], got {self.foreground_fraction}")
        if not 0 <= self.near_miss_fraction <= 1 - self.foreground_fraction:
            found.append(f"near-miss fraction must be in [0, 1 - foreground fraction], got {self.near_miss_fraction}")
        if self.rotations not in ROTATIONS:
            found.append(f"rotations must be one of {', '.join(ROTATIONS)}, got {self.rotations!r}")
        if self.turn_interpolation not in INTERPOLATIONS:
            found.append(f"turn interpolation must be one of {', '.join(INTERPOLATIONS)}, "
                         f"got {self.turn_interpolation!r}")
        if not 0 <= self.blur_share <= 1:
            found.append(f"blur share must be in [0, 1], got {self.blur_share}")
        if not 0 < self.blur_sigma <= 3:
            found.append(f"largest blur sigma must be in (0, 3] voxels, got {self.blur_sigma}")
        if self.wedge_copies < 0:
            found.append(f"extra-wedge copies must be 0 or more, got {self.wedge_copies}")
        if not 0 < self.wedge_tilt_deg < 90:
            found.append(f"extra-wedge tilt range must be in (0, 90) degrees, got {self.wedge_tilt_deg}")
        if not self.near_miss_nm > 0:
            found.append(f"near-miss reach must be positive (nm), got {self.near_miss_nm}")
        if self.positive_weight is not None and not self.positive_weight > 0:
            found.append(f"positive weight must be positive, got {self.positive_weight}")
        if self.penalty_weight < 0:
            found.append(f"penalty weight must be 0 or more, got {self.penalty_weight}")
        if self.dice_weight < 0:
            found.append(f"Dice weight must be 0 or more, got {self.dice_weight}")
        if self.validation not in VALIDATION_MODES:
            found.append(f"validation must be one of {', '.join(VALIDATION_MODES)}, got {self.validation!r}")
        if not 0 < self.validation_fraction < 0.5:
            found.append(f"validation fraction must be in (0, 0.5), got {self.validation_fraction}")
        if self.time_limit_min is not None and not self.time_limit_min > 0:
            found.append(f"time limit must be positive (minutes), got {self.time_limit_min}")
        return found

    def check(self):
        """Raise :class:`InputError` listing every problem, if any."""
        raise_problems(self.problems())


def split_rows(rows, fraction, gap=4):
    """Training and validation row ranges: validation is the last ``fraction`` of the rows, with ``gap`` rows
    left out between them. Tomograms too small to split validate on their training range."""
    n_val = int(round(rows * fraction))
    if n_val < 8 or rows - n_val - gap < 8:
        return (0, rows), (0, rows)
    return (0, rows - n_val - gap), (rows - n_val, rows)


def validation_rows(roi_per_row, fraction, min_piece, gap=4):
    """Training row ranges and the validation row range of one tomogram.

    The validation band is the last ``fraction`` of the rows (:func:`split_rows`) unless that band holds no
    ROI voxel while the tomogram has some: then the band whose share of the ROI voxels is closest to
    ``fraction`` is taken, so that validation sees ROIs (a model chosen on background alone is chosen
    blind). The rows on both sides of it train, each side only if at least ``min_piece`` rows long (shorter
    pieces would shrink every training patch).

    Parameters
    ----------
    roi_per_row : array of int
        ROI voxels in each row (y) of the tomogram.

    Returns
    -------
    train : list of (int, int)
    validation : (int, int)
    """
    rows = len(roi_per_row)
    train, validation = split_rows(rows, fraction, gap)
    total = int(np.sum(roi_per_row))
    n_val = validation[1] - validation[0]
    if train == validation or total == 0 or np.sum(roi_per_row[validation[0]:validation[1]]) > 0:
        return [train], validation
    min_piece = min(min_piece, train[1] - train[0])
    cumulative = np.concatenate([[0], np.cumsum(roi_per_row)])
    best = None
    for start in range(0, rows - n_val + 1, max(1, n_val // 8)):
        share = (cumulative[start + n_val] - cumulative[start]) / total
        pieces = [(lo, hi) for lo, hi in ((0, start - gap), (start + n_val + gap, rows)) if hi - lo >= min_piece]
        if share == 0 or not pieces:
            continue
        key = (abs(share - fraction), -start)
        if best is None or key < best[0]:
            best = (key, pieces, (start, start + n_val))
    if best is None:
        return [train], validation
    return best[1], best[2]


def validation_tomograms(items, fraction, mode):
    """Indices of the tomograms held out whole for validation; empty when validation uses rows of every one.

    ``mode`` 'tomograms' holds out the last max(1, round(``fraction`` · n)) of the n tomograms that hold ROIs,
    when n ≥ 3 (with fewer, training or validation would see no ROI); 'rows' holds out none.
    """
    annotated = [index for index, item in enumerate(items) if item.target.any()]
    if mode != "tomograms" or len(annotated) < MIN_TOMOGRAMS_HELD_OUT:
        return []
    return annotated[-max(1, int(round(fraction * len(annotated)))):]


def _build_model(params, init_model, voxel_size, device):
    if init_model is not None:
        return fine_tuning_start(init_model, load_model, device)
    return new_model(params, voxel_size, device)


def new_model(params, voxel_size, device="cpu"):
    """A randomly initialised model with the architecture ``params`` describe.

    Parameters
    ----------
    params : TrainingParameters
        Its dims, depth, width, max_dilation, context, far_context and planes are used.
    voxel_size : float
        Voxel size (Å) of the grid the model works on.
    device : str
        Where the network's weights live.

    Returns
    -------
    TrainedModel
    """
    from .msd import MSDNet

    flat = params.dims == 2
    net = MSDNet(in_channels=channel_count(params.context, params.far_context) if flat else 1, out_channels=1,
                 depth=params.depth, width=params.width, dims=params.dims, max_dilation=params.max_dilation)
    return TrainedModel(net.to(device), voxel_size, params.context if flat else 0,
                        far_context=params.far_context if flat else 0, planes=parse_planes(params.planes))


def balancing_weight(items, cap=20.0):
    """√(background voxels / ROI voxels) over the training items, between 1 and ``cap``."""
    positives = sum(int(item.target.sum()) for item in items)
    total = sum(item.target.size for item in items)
    return float(np.clip(np.sqrt((total - positives) / max(positives, 1)), 1.0, cap))


def model_voxel_size(params, tomograms, voxel_size=None):
    """The model grid's voxel size (Å) for the training ``tomograms`` (paths): ``params.voxel_size``, else
    the coarsest tomogram's (``voxel_size``, or each file's header), at least ``params.min_voxel_size``."""
    if params.voxel_size is not None:
        return float(params.voxel_size)
    from ..io import open_mrc

    sizes = []
    for path in tomograms:
        with open_mrc(path, voxel_size) as volume:
            sizes.append(volume.voxel_size)
    return max(max(sizes), params.min_voxel_size)


class _Batches:
    """Torch tensors on the training device for a batch from a sampler (see :meth:`.PatchSampler.tensor_batch`)."""

    def __init__(self, sampler, device):
        self.sampler, self.device = sampler, device

    def __call__(self, size, rng, augment):
        return self.sampler.tensor_batch(size, rng, augment, self.device)


def soft_dice_loss(logits, target, smooth=1.0):
    """1 − soft Dice of ``sigmoid(logits)`` with the binary ``target``, pooled over the whole batch.

    ``smooth`` (in voxels) keeps patches without ROI defined: there the loss falls as the predicted mass does.
    """
    import torch

    probability, truth = torch.sigmoid(logits), (target > 0.5).to(logits.dtype)
    overlap = (probability * truth).sum()
    return 1 - (2 * overlap + smooth) / (probability.sum() + truth.sum() + smooth)


def _loss_and_counts(net, batch, dice_weight=0.0):
    import torch
    from torch.nn import functional as F

    image, target, weight = batch
    logits = net(image)
    loss = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight).mean()
    if dice_weight:
        loss = loss + dice_weight * soft_dice_loss(logits, target)
    with torch.no_grad():
        predicted = logits > 0
        inter = float((predicted & (target > 0.5)).sum())
        total = float(predicted.sum() + (target > 0.5).sum())
    return loss, inter, total


def train(items, params, out_dir, init_model=None, resume=False, device="cpu", quiet=False, voxel_size=None):
    """Train a model on loaded items and write it to ``out_dir``.

    Parameters
    ----------
    items : list of TrainingItem
        Tomograms and masks already on the model's grid (see :func:`.data.load_training_item`).
    params : TrainingParameters
    out_dir : path
        Receives ``model.pt`` (best validation Dice, see :func:`..training_loop.better_epoch`),
        ``checkpoint.pt`` (latest epoch) and ``history.csv``.
    init_model : path or TrainedModel, optional
        A model (file) to fine-tune; its architecture, voxel size, context (near and far) and planes replace
        those in ``params``.
    resume : bool
        Continue from ``out_dir/checkpoint.pt`` (same data and parameters).
    voxel_size : float
        The model grid's voxel size in Å (the items' grid).

    Returns
    -------
    dict
        Summary: epochs run, best epoch, best validation loss and Dice, seconds, model path.
    """
    import torch

    params.check()
    out_dir = ensure_output_dir(out_dir)
    torch.manual_seed(params.seed)
    model = _build_model(params, init_model, voxel_size, device)
    dims, context = model.dims, model.context
    held_out = validation_tomograms(items, params.validation_fraction, params.validation)
    if held_out:
        whole = [(0, item.image.shape[1]) for item in items]
        splits = [([] if index in held_out else [rows], rows) for index, rows in enumerate(whole)]
        validating = held_out
    else:
        splits = [validation_rows(np.count_nonzero(item.target, axis=(0, 2)), params.validation_fraction,
                                  params.patch) for item in items]
        validating = list(range(len(items)))
    from .patches import PatchSampler, section_channels
    from .wedge_fade import faded_copies

    positive_weight = params.positive_weight or balancing_weight(items)
    training_owners = [index for index, (train_rows, _) in enumerate(splits) if train_rows]
    copies = faded_copies([items[i] for i in training_owners], params.wedge_copies, params.seed,
                          params.wedge_tilt_deg)
    copy_owners = [owner for owner in training_owners for _ in range(params.wedge_copies)]
    sampled = items + copies  # copies train on their original's rows and never validate
    splits = splits + [splits[owner] for owner in copy_owners]
    channels = section_channels(sampled, context, model.far_context, model.planes) if dims == 2 else None
    near_reach = max(1, round(10 * params.near_miss_nm / model.voxel_size))

    def make(owners, rows, near):
        """A sampler over the row ranges ``rows`` of items ``owners`` (an item may own several ranges)."""
        chosen = None if channels is None else {plane: [per_item[i] for i in owners]
                                                for plane, per_item in channels.items()}
        return PatchSampler([sampled[i] for i in owners], rows, dims, context, params.patch,
                            params.foreground_fraction, on_penalty=0.25, penalty_weight=params.penalty_weight,
                            positive_weight=positive_weight, far_context=model.far_context, planes=model.planes,
                            channels=chosen, near_miss=near, near_reach=near_reach,
                            any_angle=params.rotations == "any", turn_interpolation=params.turn_interpolation,
                            blur_share=params.blur_share, blur_sigma=params.blur_sigma)
    pieces = [(index, rows) for index, (train_rows, _) in enumerate(splits) for rows in train_rows]
    train_batches = _Batches(make([i for i, _ in pieces], [r for _, r in pieces], params.near_miss_fraction),
                             device)
    # Validation keeps the plain mix, so that validation losses compare across near-miss settings.
    val_batches = _Batches(make(validating, [splits[i][1] for i in validating], 0.0), device)
    validation = [val_batches(1, np.random.default_rng([params.seed, 99, i]), augment=False)
                  for i in range(params.validation_patches)]
    by_dice = any(bool((batch[1] > 0.5).any()) for batch in validation)
    optimizer = torch.optim.Adam(model.net.parameters(), lr=params.learning_rate)
    state = restore_checkpoint(out_dir / CHECKPOINT_FILE, model, optimizer) if resume else new_loop_state()
    model.training.update({"parameters": asdict(params), "items": [item.name for item in items],
                           "validation_rows": [] if held_out else [list(s[1]) for s in splits[:len(items)]],
                           "validation_tomograms": [items[i].name for i in held_out],
                           "extra_wedge_copies": [copy.name for copy in copies],
                           "selected_by": "validation Dice" if by_dice else "validation loss",
                           "penalty_voxels": [0 if item.penalty is None else int(np.count_nonzero(item.penalty))
                                              for item in items],
                           "positive_weight": positive_weight,
                           "voxel_size_A": model.voxel_size, "device": str(device)})
    progress = Progress("roi train", epoch_total(params), quiet=quiet)
    progress.done = state["epoch"]
    sampler = train_batches.sampler
    sections = f", {'/'.join(model.planes)} sections" if dims == 2 else ""
    sides = (sampler.patch_z,) * (dims == 3) + (sampler.patch_y, sampler.patch_x)
    if params.validation == "tomograms" and not held_out:
        progress.info(f"validation on rows of every tomogram: whole ones are held out from "
                      f"{MIN_TOMOGRAMS_HELD_OUT} annotated tomograms on")
    elif held_out:
        progress.info(f"validation on {len(held_out)} whole tomogram(s): "
                      f"{', '.join(items[i].name for i in held_out)}")
    if copies:
        progress.info(f"{len(copies)} training copies with an extra missing wedge (±{params.wedge_tilt_deg:g}°, "
                      "axes spread over 0–180°)")
    progress.info(f"{len(items)} tomograms on a {model.voxel_size:g} Å grid, {dims}D MS-D depth "
                  f"{model.net.config['depth']}{sections}, patches {'×'.join(map(str, sides))}, "
                  f"device {device}")
    state = run_epochs(model, optimizer, params, state, out_dir,
                       lambda rng: _loss_and_counts(model.net, train_batches(params.batch_size, rng, augment=True),
                                                    params.dice_weight)[0],
                       lambda: _validate(model.net, validation, params.dice_weight), save_model, progress, by_dice)
    return {"epochs": state["epoch"], "best_epoch": state["best_epoch"], "best_val_loss": state["best_loss"],
            "best_val_dice": state["best_dice"], "seconds": round(state["seconds"], 1),
            "device": str(device), "model": str(out_dir / MODEL_FILE),
            "fine_tuned_from": model.training.get("fine_tuned_from")}


def _validate(net, validation, dice_weight=0.0):
    import torch

    net.eval()
    total_loss, inter, total = 0.0, 0.0, 0.0
    with torch.no_grad():
        for batch in validation:
            loss, i, t = _loss_and_counts(net, batch, dice_weight)
            total_loss += float(loss)
            inter, total = inter + i, total + t
    return total_loss / len(validation), (2 * inter / total if total > 0 else None)


def train_files(tomograms, masks, params, out_dir, penalties=None, init_model=None, resume=False, device="cpu",
                voxel_size=None, quiet=False):
    """Load annotated tomograms from MRC files and :func:`train` on them.

    Parameters
    ----------
    tomograms, masks : list of path
        Tomograms and their ROI masks (nonzero = ROI), paired by position.
    penalties : list of path or None, optional
        Penalty masks paired with the tomograms (None entries allowed): flagged false-positive patterns.
    voxel_size : float, optional
        Voxel size in Å of all tomograms, instead of their headers'.

    Raises
    ------
    InputError
        Listing every unusable input (missing, mismatched shapes, empty masks, NaN) before any training.
    """
    from .data import load_training_item

    params.check()
    if not tomograms or len(tomograms) != len(masks):
        raise InputError(f"give one ROI mask per tomogram: {len(tomograms)} tomograms, {len(masks)} masks")
    penalties = list(penalties) if penalties else [None] * len(tomograms)
    if len(penalties) != len(tomograms):
        raise InputError(f"give one penalty mask per tomogram: {len(tomograms)} tomograms, {len(penalties)} masks")
    if init_model is not None:
        init_model = load_model(init_model, device)  # read once: its grid now, its weights in train()
        grid = init_model.voxel_size
    else:
        grid = model_voxel_size(params, tomograms, voxel_size)
    progress = Progress("roi train", len(tomograms), quiet=quiet)
    items, problems = [], []
    for tomogram, mask, penalty in zip(tomograms, masks, penalties):
        try:
            items.append(load_training_item(tomogram, mask, grid, penalty, voxel_size))
            progress.step(f"loaded {Path(tomogram).name} → {items[-1].image.shape} on the {grid:g} Å grid, "
                          f"{100 * items[-1].target.mean():.2f}% ROI")
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError(f"{len(problems)} of {len(tomograms)} training inputs unusable: " + "; ".join(problems))
    if not any(item.target.any() for item in items):
        raise InputError("no training tomogram has an annotated ROI: the network needs at least one example")
    return train(items, params, out_dir, init_model, resume, device, quiet, voxel_size=grid)
