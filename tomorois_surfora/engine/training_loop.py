"""The epoch loop both networks train with (TomoROIS's MS-D and the membrane segmenter).

Per epoch: ``steps_per_epoch`` optimiser steps at the scheduled learning rate, one validation, the model
file rewritten when the epoch is the best so far (:func:`better_epoch`), a checkpoint to resume from, the
history CSV and a progress line. Training stops at the epoch limit or after the epoch in which the time
limit ran out, and says which.
"""
import math
import time
from pathlib import Path

from .errors import InputError
from .io import atomic_output, write_csv

MODEL_FILE, CHECKPOINT_FILE, HISTORY_FILE = "model.pt", "checkpoint.pt", "history.csv"
LR_SCHEDULES = ("cosine", "constant")
UNLIMITED_EPOCHS = 1_000_000  # "train until the time limit"


def learning_rate_at(params, fraction):
    """The learning rate once ``fraction`` (0 to 1) of the training budget is spent.

    ``cosine`` anneals from ``learning_rate`` to ``final_lr_fraction`` of it over the budget, epochs or the
    time limit, whichever runs out first: the last, small steps settle the boundaries that a constant rate
    keeps shaking. ``constant`` keeps ``learning_rate``.
    """
    if params.lr_schedule == "constant":
        return params.learning_rate
    fraction = min(max(fraction, 0.0), 1.0)
    floor = params.final_lr_fraction
    return params.learning_rate * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * fraction)))


def budget_spent(params, epoch, step, seconds):
    """Fraction of the training budget spent: epochs, or the time limit when it comes first."""
    spent = (epoch + step / params.steps_per_epoch) / params.epochs
    if params.time_limit_min is not None:
        spent = max(spent, seconds / (60 * params.time_limit_min))
    return spent


def better_epoch(dice, loss, best_dice, best_loss, by_dice=True):
    """Whether an epoch with validation ``dice`` and ``loss`` beats the best so far.

    With ``by_dice`` (the validation patches hold foreground voxels) the validation Dice (at probability 0.5)
    decides: it scores what extraction will see, where the loss also rewards confident background. Ties fall
    back to the loss, and so does a validation set without foreground (``by_dice`` False).
    """
    if by_dice and dice is not None:
        if best_dice is None or dice != best_dice:
            return best_dice is None or dice > best_dice
    return loss < best_loss


def fine_tuning_start(init_model, load, device):
    """The model to fine-tune, its training record restarted with a pointer to where it came from.

    Parameters
    ----------
    init_model : path or loaded model
        A model file (read with ``load(path, device)``), or a model a caller already read (to learn its
        grid) with its ``source`` path set, so that the file is not read twice.
    """
    if isinstance(init_model, (str, Path)):
        model = load(init_model, device)
    else:
        model = init_model
        model.net.to(device)
    model.training = {"fine_tuned_from": str(model.source or init_model), "previous": model.training}
    return model


def new_loop_state():
    """The loop state a checkpoint carries: epochs done, best epoch and scores, seconds, history rows."""
    return {"epoch": 0, "best_loss": math.inf, "best_epoch": 0, "best_dice": None, "seconds": 0.0, "history": []}


def save_checkpoint(path, model, optimizer, state):
    """Write the latest epoch's weights, optimiser state, loop ``state`` and training record atomically."""
    import torch

    payload = {"net": model.net.state_dict(), "optimizer": optimizer.state_dict(), "state": state,
               "training": model.training}
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)


def restore_checkpoint(path, model, optimizer):
    """Load a :func:`save_checkpoint` file into ``model`` and ``optimizer``; return the loop state."""
    import torch

    if not Path(path).is_file():
        raise InputError(f"{path}: no checkpoint to resume from (train without --resume first)")
    try:
        payload = torch.load(path, map_location=next(model.net.parameters()).device, weights_only=True)
        model.net.load_state_dict(payload["net"])
        optimizer.load_state_dict(payload["optimizer"])
    except Exception as exc:  # a checkpoint from another architecture or a corrupt file
        raise InputError(f"{path}: cannot resume from this checkpoint ({type(exc).__name__}: {str(exc)[:120]}); "
                         "use the same parameters as the interrupted run") from None
    model.training = payload.get("training", model.training)
    return payload["state"]


def epoch_total(params):
    """The number of epochs to show in progress lines: None when only the time limit bounds the training."""
    return None if params.epochs >= UNLIMITED_EPOCHS else params.epochs


def run_epochs(model, optimizer, params, state, out_dir, batch_loss, validate, save_model, progress, by_dice=True):
    """Train ``model`` epoch by epoch from loop ``state`` (new or restored) until the epoch or time limit.

    Parameters
    ----------
    model : TrainedModel or MembraneModel
        Its ``net`` is trained; its ``training`` record gets the history and best epoch.
    optimizer : torch.optim.Optimizer
    params : TrainingParameters or MembraneTrainingParameters
        ``epochs``, ``steps_per_epoch``, ``time_limit_min`` and the learning-rate schedule are read.
    out_dir : Path
        Receives the model file (best epoch), the checkpoint (latest epoch) and the history CSV.
    batch_loss : callable
        ``batch_loss(rng)``: the loss tensor of one training batch drawn with ``rng``.
    validate : callable
        ``validate()``: (validation loss, validation Dice or None).
    save_model : callable
        ``save_model(path, model)`` writes the model file.
    progress : Progress
    by_dice : bool
        Select the best epoch by validation Dice (False: by loss; see :func:`better_epoch`).

    Returns
    -------
    dict
        The loop state: epochs run, best epoch, best validation loss and Dice, seconds, history.
    """
    import numpy as np

    started = time.perf_counter() - state["seconds"]
    limit_s = None if params.time_limit_min is None else 60 * params.time_limit_min
    rate = params.learning_rate
    while state["epoch"] < params.epochs:
        rng = np.random.default_rng([params.seed, state["epoch"]])
        model.net.train()
        losses = []
        for step in range(params.steps_per_epoch):
            rate = learning_rate_at(params, budget_spent(params, state["epoch"], step, time.perf_counter() - started))
            for group in optimizer.param_groups:
                group["lr"] = rate
            loss = batch_loss(rng)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            if limit_s is not None and time.perf_counter() - started > limit_s:
                break
        val_loss, val_dice = validate()
        state["epoch"] += 1
        state["seconds"] = time.perf_counter() - started
        row = {"epoch": state["epoch"], "train_loss": float(np.mean(losses)), "val_loss": val_loss,
               "val_dice": val_dice, "seconds": round(state["seconds"], 1), "learning_rate": rate}
        state["history"].append(row)
        improved = better_epoch(val_dice, val_loss, state["best_dice"], state["best_loss"], by_dice)
        if improved:
            state.update(best_loss=val_loss, best_epoch=state["epoch"], best_dice=val_dice)
            model.training.update(history=state["history"], best_epoch=state["epoch"])
            save_model(out_dir / MODEL_FILE, model)
        save_checkpoint(out_dir / CHECKPOINT_FILE, model, optimizer, state)
        write_csv(out_dir / HISTORY_FILE, state["history"])  # older rows may lack newer columns: left empty
        dice_text = "n/a" if val_dice is None else f"{val_dice:.3f}"
        progress.step(f"epoch {state['epoch']}: train loss {row['train_loss']:.4f}  val loss {val_loss:.4f}  "
                      f"val Dice {dice_text}{'  (best, saved)' if improved else ''}")
        if limit_s is not None and state["seconds"] > limit_s:
            progress.info(f"time limit of {params.time_limit_min:g} min reached after epoch {state['epoch']}")
            break
    else:
        if limit_s is not None and params.epochs < UNLIMITED_EPOCHS:
            progress.info(f"stopped at the epoch limit ({params.epochs}) after {state['seconds'] / 60:.1f} of "
                          f"{params.time_limit_min:g} min; raise the epochs to train for the whole time limit")
    return state
