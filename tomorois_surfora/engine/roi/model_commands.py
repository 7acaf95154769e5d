"""``tomorois-surfora roi train|predict``: argument definitions and handlers."""
import json
from pathlib import Path


def _epochs(args):
    """--epochs, else the default, or no epoch limit when only --time-limit bounds the training."""
    from ..training_loop import UNLIMITED_EPOCHS
    from .train import TrainingParameters

    if args.epochs is not None:
        return args.epochs
    return UNLIMITED_EPOCHS if args.time_limit is not None else TrainingParameters().epochs


def add_model_commands(stages, positive_float, positive_int):
    """Register ``roi train`` and ``roi predict`` on the ``roi`` subparsers."""
    from .predict import TileParameters
    from ..training_loop import LR_SCHEDULES
    from .batch_turn import INTERPOLATIONS
    from .train import ROTATIONS, VALIDATION_MODES, TrainingParameters

    d, tiles = TrainingParameters(), TileParameters()
    train = stages.add_parser(
        "train", help="train an MS-D ROI model (from scratch or fine-tuning)",
        description="Train a Mixed-Scale Dense network on annotated tomograms. Writes OUT/model.pt (the model "
                    "with the best validation Dice, or loss where validation holds no ROI), OUT/checkpoint.pt "
                    "(to --resume), OUT/history.csv and OUT/training.json. The last --validation-fraction of "
                    "every tomogram's rows (y) is held out, or where that band holds no ROI, the band holding "
                    "about that share of the ROIs.")
    train.add_argument("--tomograms", nargs="+", required=True, type=Path, help="training tomograms (MRC)")
    train.add_argument("--masks", nargs="+", required=True, type=Path,
                       help="ROI masks, one per tomogram in the same order (nonzero = ROI)")
    train.add_argument("--penalty", nargs="+", type=Path,
                       help="penalty masks, one per tomogram: patterns flagged as false positives")
    train.add_argument("--out", required=True, type=Path, help="output folder for the model (created if needed)")
    train.add_argument("--voxel-size", type=positive_float, metavar="Å",
                       help="voxel size of the tomograms in Å (default: each file's header)")
    train.add_argument("--model-voxel-size", type=positive_float, metavar="Å",
                       help=f"grid the model works on, in Å (default: the coarsest tomogram's voxel size, at "
                            f"least {d.min_voxel_size:g} Å)")
    train.add_argument("--dims", type=int, choices=(2, 3), default=d.dims,
                       help="2D (sections, with --context neighbours as channels) or 3D (default %(default)s)")
    train.add_argument("--depth", type=positive_int, default=d.depth, help="MS-D layers (default %(default)s)")
    train.add_argument("--width", type=positive_int, default=d.width, help="maps per layer (default %(default)s)")
    train.add_argument("--context", type=int, default=d.context,
                       help="2D: neighbouring sections on each side as input channels (default %(default)s)")
    train.add_argument("--far-context", type=int, default=d.far_context, metavar="SLABS",
                       help="2D: z-averaged slabs on each side beyond --context, each twice as far and as wide as "
                            "the one before, so the network sees tens of nm above and below a section "
                            "(default %(default)s)")
    train.add_argument("--planes", default=d.planes, metavar="PLANES",
                       help="2D: section planes to label, comma-separated among xy, xz, yz; a model of several "
                            "labels the volume once per plane and averages, which shows it what a few x-y "
                            "sections cannot: how far an ROI reaches in z (default %(default)s)")
    train.add_argument("--patch", type=positive_int, default=d.patch, help="patch side, voxels (default %(default)s)")
    train.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                       help="patches per training step (default %(default)s)")
    train.add_argument("--epochs", type=positive_int, default=None,
                       help=f"epochs, each of --steps-per-epoch steps then a validation (default {d.epochs}, or as "
                            f"many as fit in --time-limit when that is given)")
    train.add_argument("--steps-per-epoch", type=positive_int, default=d.steps_per_epoch,
                       help="training steps per epoch (default %(default)s)")
    train.add_argument("--lr", type=positive_float, default=d.learning_rate, help="Adam learning rate "
                                                                                 "(default %(default)s)")
    train.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d.lr_schedule,
                       help="cosine: anneal the rate to 2%% of --lr over the epochs or --time-limit, whichever "
                            "ends first; constant: keep it (default %(default)s)")
    train.add_argument("--penalty-weight", type=float, default=d.penalty_weight,
                       help="extra loss weight on penalty voxels (default %(default)s)")
    train.add_argument("--dice-weight", type=float, default=d.dice_weight,
                       help="weight of a soft Dice term added to the cross-entropy, 0 for none "
                            "(default %(default)s)")
    train.add_argument("--near-miss", type=float, default=d.near_miss_fraction, metavar="FRACTION",
                       help="fraction of training patches centred just above or below an ROI (within "
                            "--near-miss-reach), where a 2D net must learn that the ROI has ended "
                            "(default %(default)s)")
    train.add_argument("--near-miss-reach", type=positive_float, default=d.near_miss_nm, metavar="NM",
                       help="how far above and below an ROI a near miss lies, nm (default %(default)s)")
    train.add_argument("--rotations", choices=ROTATIONS, default=d.rotations,
                       help="x-y augmentation of 2D training patches: quarter turns, or turns by any angle (a "
                            "membrane at an angle no training tomogram shows is then still known; "
                            "default %(default)s)")
    train.add_argument("--turn-interpolation", choices=list(INTERPOLATIONS), default=d.turn_interpolation,
                       help="with --rotations any: how the image is interpolated when turned (nearest keeps the "
                            "noise's level, linear leaves about 2/3 of it, cubic about 0.86; default %(default)s)")
    train.add_argument("--blur-share", type=float, default=d.blur_share, metavar="FRACTION",
                       help="fraction of training patches blurred in-plane by a random Gaussian, so that the "
                            "network also learns on less noisy images (default %(default)s)")
    train.add_argument("--blur-sigma", type=positive_float, default=d.blur_sigma, metavar="VOXELS",
                       help="largest sigma of that blur, drawn uniformly from 0 (default %(default)s)")
    train.add_argument("--wedge-copies", type=int, default=d.wedge_copies, metavar="N",
                       help="per training tomogram, N copies with an extra missing wedge about other in-plane "
                            "axes, so that the network also learns faint membranes (default %(default)s)")
    train.add_argument("--wedge-tilt", type=positive_float, default=d.wedge_tilt_deg, metavar="DEG",
                       help="largest tilt of the extra wedge's simulated series (default %(default)s)")
    train.add_argument("--validation-fraction", type=float, default=d.validation_fraction,
                       help="fraction of rows (y), or of tomograms with --validation tomograms, held out "
                            "for validation (default %(default)s)")
    train.add_argument("--validation", choices=VALIDATION_MODES, default=d.validation,
                       help="rows: validate on a band of rows of every tomogram; tomograms: hold out whole "
                            "tomograms (from 3 annotated ones on; fewer fall back to rows), so that the model is "
                            "chosen on tomograms it has not seen (default %(default)s)")
    train.add_argument("--time-limit", type=positive_float, metavar="MIN", help="stop after this many minutes")
    train.add_argument("--seed", type=int, default=d.seed,
                       help="seed of the initial weights and the patch draws (default %(default)s)")
    train.add_argument("--init-model", type=Path, help="fine-tune this model instead of starting from scratch "
                                                       "(its architecture and voxel size are kept)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    add_runtime_options(train)
    train.set_defaults(handler=run_train)

    predict = stages.add_parser(
        "predict", help="ROI probability maps for tomograms",
        description="Tiled inference with blended overlaps. Writes OUT/<name>_prob.mrc (float32, the tomogram's "
                    "grid) per tomogram; tomograms at another voxel size than the model's are resampled (at most "
                    "1.5× coarser). A bad input is reported and the others go on.")
    predict.add_argument("tomograms", nargs="+", type=Path, help="tomograms (MRC)")
    predict.add_argument("--model", required=True, type=Path, help="model file from roi train")
    predict.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    predict.add_argument("--voxel-size", type=positive_float, metavar="Å", help="voxel size in Å (default: header)")
    predict.add_argument("--tile", type=positive_int, default=tiles.tile,
                         help="tile side, voxels of the model grid (default %(default)s)")
    predict.add_argument("--overlap", type=int, default=tiles.overlap, help="tile overlap (default %(default)s)")
    predict.add_argument("--tile-3d", type=positive_int, default=tiles.tile_3d,
                         help="3D models: tile side in x and y (default %(default)s)")
    predict.add_argument("--tile-z", type=positive_int, default=tiles.tile_z, help="3D models (default %(default)s)")
    predict.add_argument("--overlap-z", type=int, default=tiles.overlap_z, help="3D models (default %(default)s)")
    predict.add_argument("--mirrored", action="store_true",
                         help="average the network over the volume and three mirrored copies (test-time "
                              "augmentation; 4x the time)")
    add_runtime_options(predict)
    predict.set_defaults(handler=run_predict)


def add_runtime_options(parser):
    """--device, --threads and --quiet: the options of every command that runs a network."""
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where the network runs (default: cuda when available)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def run_train(args):
    from ..io import atomic_output
    from .predict import choose_device, use_all_cores
    from .train import TrainingParameters, train_files

    params = TrainingParameters(
        dims=args.dims, depth=args.depth, width=args.width, context=args.context,
        far_context=args.far_context, planes=args.planes, voxel_size=args.model_voxel_size,
        patch=args.patch, batch_size=args.batch_size, epochs=_epochs(args), steps_per_epoch=args.steps_per_epoch,
        learning_rate=args.lr, lr_schedule=args.lr_schedule, penalty_weight=args.penalty_weight,
        dice_weight=args.dice_weight, near_miss_fraction=args.near_miss, near_miss_nm=args.near_miss_reach,
        rotations=args.rotations, turn_interpolation=args.turn_interpolation, blur_share=args.blur_share,
        blur_sigma=args.blur_sigma, wedge_copies=args.wedge_copies, wedge_tilt_deg=args.wedge_tilt,
        validation_fraction=args.validation_fraction, validation=args.validation,
        time_limit_min=args.time_limit, seed=args.seed)
    use_all_cores(args.threads)
    summary = train_files(args.tomograms, args.masks, params, args.out, penalties=args.penalty,
                          init_model=args.init_model, resume=args.resume, device=choose_device(args.device),
                          voxel_size=args.voxel_size, quiet=args.quiet)
    with atomic_output(Path(args.out) / "training.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    dice = summary["best_val_dice"]
    print(f"trained {summary['epochs']} epochs in {summary['seconds']:.0f} s; best epoch {summary['best_epoch']} "
          f"(validation loss {summary['best_val_loss']:.4f}, Dice {'n/a' if dice is None else f'{dice:.3f}'}); "
          f"model: {summary['model']}")
    return 0


def run_predict(args):
    from ..io import ensure_output_dir
    from ..progress import for_each_input
    from .model_file import load_model
    from .predict import TileParameters, choose_device, predict_file, probability_file_name, use_all_cores

    device = choose_device(args.device)
    use_all_cores(args.threads)
    model = load_model(args.model, device)
    tiles = TileParameters(args.tile, args.overlap, args.tile_z, args.overlap_z, args.tile_3d, args.mirrored)
    out = ensure_output_dir(args.out)

    def work(path):
        info = predict_file(model, path, out / probability_file_name(path), args.voxel_size, tiles, device,
                            quiet=args.quiet)
        return f"{path.name}: {info['network_seconds']:.1f} s network, {info['seconds']:.1f} s total"
    return for_each_input("roi predict", args.tomograms, args.quiet, work,
                          lambda done, total: f"predicted {done} of {total} tomograms into {out.resolve()}")
