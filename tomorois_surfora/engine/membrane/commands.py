"""``tomorois-surfora membrane ...``: train, predict and evaluate membrane segmentation."""
import json
from pathlib import Path

from ..errors import InputError
from ..progress import for_each_input


def add_membrane_commands(subparsers, positive_float, positive_int):
    """Register ``membrane train|predict|evaluate|synthesize`` on the CLI's subparsers."""
    from ..roi.model_commands import add_runtime_options
    from . import ARCHITECTURES
    from .predict import MembraneTiles
    from .preprocess import PreprocessParameters
    from .train import MembraneTrainingParameters

    d, pre, tiles = MembraneTrainingParameters(), PreprocessParameters(), MembraneTiles()
    group = subparsers.add_parser("membrane", help="segment membranes: train, predict, evaluate",
                                  description="Membrane segmentation with the hybrid 2.5D network (seed 004).")
    stages = group.add_subparsers(dest="stage", metavar="{train,predict,evaluate,synthesize}", required=True)

    train = stages.add_parser(
        "train", help="train a membrane model (from scratch or fine-tuning)",
        description="Train on tomograms with membrane masks (nonzero = membrane). Writes OUT/model.pt (the epoch "
                    "with the best validation Dice), OUT/checkpoint.pt (to --resume), OUT/history.csv and "
                    "OUT/training.json. A band of every tomogram's rows (y) is held out for validation.")
    train.add_argument("--tomograms", nargs="+", required=True, type=Path, help="training tomograms (MRC)")
    train.add_argument("--masks", nargs="+", required=True, type=Path,
                       help="membrane masks or label maps, one per tomogram in the same order (nonzero = membrane)")
    train.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    train.add_argument("--architecture", choices=ARCHITECTURES, default=d.architecture,
                       help="hybrid: attention U-Net + ASPP + bidirectional ConvLSTM across sections + gated "
                            "edge stream; unet: the plain U-Net baseline (default %(default)s)")
    train.add_argument("--base", type=positive_int, default=d.base,
                       help="channels of the first level, doubled at each level (default %(default)s)")
    train.add_argument("--sections", type=positive_int, default=d.sections,
                       help="consecutive z-sections the network reads as one stack (default %(default)s)")
    train.add_argument("--planes", default=d.planes, metavar="PLANES",
                       help="section planes to read, comma-separated among xy, xz, yz; a model of several labels "
                            "a tomogram once per plane and averages (slower, holds the volume in memory; "
                            "default %(default)s)")
    train.add_argument("--patch", type=positive_int, default=d.patch,
                       help="patch side in pixels, a multiple of 8 (default %(default)s)")
    train.add_argument("--batch-size", type=positive_int, default=d.batch_size, help="default %(default)s")
    train.add_argument("--epochs", type=positive_int, default=None,
                       help=f"epochs of --steps-per-epoch steps (default {d.epochs}, or as many as fit in "
                            "--time-limit when that is given)")
    train.add_argument("--steps-per-epoch", type=positive_int, default=d.steps_per_epoch, help="default %(default)s")
    train.add_argument("--lr", type=positive_float, default=d.learning_rate, help="Adam learning rate "
                                                                                 "(default %(default)s)")
    train.add_argument("--time-limit", type=positive_float, metavar="MIN", help="stop after this many minutes")
    train.add_argument("--voxel-size", type=positive_float, metavar="Å",
                       help="voxel size of the tomograms in Å (default: each file's header)")
    train.add_argument("--model-voxel-size", type=positive_float, metavar="Å",
                       help="grid the model works on, in Å (default: the coarsest tomogram's voxel size)")
    train.add_argument("--no-clahe", action="store_true", help="skip CLAHE per z-section (default: on, "
                                                               f"blocks of {pre.clahe_block} px, clip {pre.clahe_clip:g})")
    train.add_argument("--eed", action="store_true",
                       help=f"edge-enhancing diffusion before CLAHE ({pre.eed_iterations} steps; default off)")
    train.add_argument("--seed", type=int, default=d.seed, help="default %(default)s")
    train.add_argument("--init-model", type=Path,
                       help="fine-tune this membrane model (its architecture, grid and preprocessing are kept)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    add_runtime_options(train)
    train.set_defaults(handler=run_membrane_train)

    predict = stages.add_parser(
        "predict", help="membrane probability, mask and pieces for tomograms",
        description="Tiled 2.5D inference. Writes OUT/<name>_membrane_prob.mrc (float32), <name>_membrane_mask.mrc "
                    "and <name>_membrane_labels.mrc (connected membrane pieces) on the tomogram's grid. With "
                    "--rois only the ROIs' bounding boxes plus --margin are segmented. A bad input is reported "
                    "and the others go on.")
    predict.add_argument("tomograms", nargs="+", type=Path, help="tomograms (MRC)")
    predict.add_argument("--model", required=True, type=Path, help="model file from `membrane train`")
    predict.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    predict.add_argument("--rois", nargs="+", type=Path,
                         help="ROI label maps, one per tomogram in the same order: segment only inside their boxes")
    predict.add_argument("--margin", type=float, default=10.0, metavar="NM",
                         help="margin around each ROI box, nm (default %(default)s)")
    predict.add_argument("--threshold", type=float, default=0.5, help="membrane probability threshold "
                                                                      "(default %(default)s)")
    predict.add_argument("--min-volume", type=float, default=500.0, metavar="NM3",
                         help="drop membrane pieces smaller than this, nm³ (default %(default)g)")
    predict.add_argument("--voxel-size", type=positive_float, metavar="Å", help="voxel size in Å (default: header)")
    predict.add_argument("--planes", metavar="PLANES",
                         help="label only these of the model's section planes, comma-separated (default: all; "
                              "xy alone streams the tomogram in bounded memory)")
    predict.add_argument("--tile", type=positive_int, default=tiles.tile,
                         help="tile side, pixels of the model grid (default %(default)s)")
    predict.add_argument("--overlap", type=int, default=tiles.overlap, help="tile overlap (default %(default)s)")
    add_runtime_options(predict)
    predict.set_defaults(handler=run_membrane_predict)

    evaluate = stages.add_parser(
        "evaluate", help="score membrane masks against true ones",
        description="Dice, IoU, precision, recall, F1 (2PR/(P+R)) on membrane voxels, and mCov (mean over true "
                    "membrane pieces of the best IoU of a predicted piece), per tomogram and pooled.")
    evaluate.add_argument("predicted", nargs="+", type=Path, help="predicted membrane masks or label maps (MRC)")
    evaluate.add_argument("--truth", nargs="+", required=True, type=Path,
                          help="true membrane masks or label maps, in the same order")
    evaluate.add_argument("--json", type=Path, help="write the scores here")
    evaluate.set_defaults(handler=run_membrane_evaluate)

    synthesize = stages.add_parser(
        "synthesize", help="extra training pairs from a pix2pix GAN (optional)",
        description="Train a pix2pix GAN (U-Net generator, PatchGAN discriminator) to draw tomogram sections from "
                    "membrane masks, then draw images for deformed copies of the masks. Writes OUT/synthetic_NNN.mrc "
                    "and OUT/synthetic_NNN_membranes.mrc, to add to `membrane train --tomograms/--masks`. Whether they "
                    "help is measured in docs/benchmarks.md; they are not used by default.")
    synthesize.add_argument("--tomograms", nargs="+", required=True, type=Path, help="annotated tomograms (MRC)")
    synthesize.add_argument("--masks", nargs="+", required=True, type=Path, help="their membrane masks")
    synthesize.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    synthesize.add_argument("--n", type=positive_int, default=8, help="pairs to write (default %(default)s)")
    synthesize.add_argument("--minutes", type=positive_float, default=5.0,
                            help="GAN training time (default %(default)s)")
    synthesize.add_argument("--depth", type=positive_int, default=32, help="sections per pair (default %(default)s)")
    synthesize.add_argument("--side", type=positive_int, default=256, help="pixels per side (default %(default)s)")
    synthesize.add_argument("--voxel-size", type=positive_float, metavar="Å", help="voxel size in Å (default: header)")
    synthesize.add_argument("--seed", type=int, default=0, help="default %(default)s")
    add_runtime_options(synthesize)
    synthesize.set_defaults(handler=run_membrane_synthesize)


def run_membrane_train(args):
    from ..io import atomic_output
    from ..roi.predict import choose_device, use_all_cores
    from ..training_loop import UNLIMITED_EPOCHS
    from .preprocess import PreprocessParameters
    from .train import MembraneTrainingParameters, train_membrane_files

    epochs = args.epochs or (UNLIMITED_EPOCHS if args.time_limit else MembraneTrainingParameters().epochs)
    params = MembraneTrainingParameters(
        architecture=args.architecture, base=args.base, sections=args.sections, planes=args.planes, patch=args.patch,
        batch_size=args.batch_size, epochs=epochs, steps_per_epoch=args.steps_per_epoch, learning_rate=args.lr,
        voxel_size=args.model_voxel_size, time_limit_min=args.time_limit, seed=args.seed)
    preprocessing = PreprocessParameters(clahe=not args.no_clahe, eed=args.eed)
    use_all_cores(args.threads)
    summary = train_membrane_files(args.tomograms, args.masks, params, args.out, preprocessing, args.init_model,
                                   args.resume, choose_device(args.device), args.voxel_size, args.quiet)
    with atomic_output(Path(args.out) / "training.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1))
    print(f"trained {summary['epochs']} epochs in {summary['seconds']:.0f} s; best epoch {summary['best_epoch']} "
          f"(validation Dice {summary['best_val_dice']:.3f}); model: {summary['model']}")
    return 0


def run_membrane_predict(args):
    from ..errors import raise_problems
    from ..io import ensure_output_dir
    from ..roi.planes import parse_planes
    from ..roi.predict import choose_device, use_all_cores
    from .model_file import load_membrane_model
    from .predict import MembraneTiles, predict_membrane_file

    if args.rois is not None and len(args.rois) != len(args.tomograms):
        raise InputError(f"give one ROI label map per tomogram: {len(args.tomograms)} tomograms, "
                         f"{len(args.rois)} ROI maps")
    if not 0 < args.threshold < 1:
        raise InputError(f"--threshold must be in (0, 1), got {args.threshold}")
    device = choose_device(args.device)
    use_all_cores(args.threads)
    model = load_membrane_model(args.model, device)
    tiles = MembraneTiles(args.tile, args.overlap, planes=parse_planes(args.planes or ""))
    raise_problems(tiles.problems())
    tiles.planes_of(model)  # a plane the model does not read is refused before any work
    out = ensure_output_dir(args.out)
    rois = dict(zip(args.tomograms, args.rois or [None] * len(args.tomograms)))

    def work(path):
        info = predict_membrane_file(model, path, out, args.voxel_size, rois[path], args.margin, args.threshold,
                                     args.min_volume, tiles, device, quiet=args.quiet)
        return (f"{path.name}: {info['pieces']} membrane pieces, {info['network_seconds']:.1f} s network, "
                f"{info['seconds']:.1f} s total")
    return for_each_input("membrane predict", args.tomograms, args.quiet, work,
                          lambda done, total: f"segmented membranes in {done} of {total} tomograms into "
                                              f"{out.resolve()}")


def run_membrane_evaluate(args):
    from ..io import atomic_output, read_mrc
    from .metrics import evaluate_membranes, pooled_scores

    if len(args.predicted) != len(args.truth):
        raise InputError(f"give one true mask per prediction: {len(args.predicted)} predictions, "
                         f"{len(args.truth)} true masks")
    evaluations = []
    for predicted_path, truth_path in zip(args.predicted, args.truth):
        predicted, _ = read_mrc(predicted_path, voxel_size=1.0)
        truth, _ = read_mrc(truth_path, voxel_size=1.0)
        if predicted.shape != truth.shape:
            raise InputError(f"{predicted_path}: shape {predicted.shape} does not match {truth_path}'s {truth.shape}")
        result = evaluate_membranes(predicted, truth)
        evaluations.append({"predicted_file": str(predicted_path), "truth_file": str(truth_path), **result})
        print(f"{predicted_path.name}: {describe_scores(result)}")
    pooled = pooled_scores(evaluations)
    print(f"pooled over {len(evaluations)}: {describe_scores(pooled)}")
    if args.json:
        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps({"pooled": pooled, "tomograms": evaluations}, indent=1))
    return 0


def describe_scores(scores):
    """One line: Dice, IoU, precision, recall, F1, mCov."""
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    return "  ".join(f"{name} {fmt(scores.get(key))}" for name, key in
                     (("Dice", "dice"), ("IoU", "iou"), ("precision", "precision"), ("recall", "recall"),
                      ("F1", "f1"), ("mCov", "mcov")))


def run_membrane_synthesize(args):
    from ..io import open_mrc
    from ..roi.data import CLIP, load_mask, load_tomogram
    from ..roi.predict import choose_device, use_all_cores
    from .data import MembraneItem
    from .synthesize import synthesize_pairs, train_pix2pix

    if len(args.tomograms) != len(args.masks):
        raise InputError(f"give one membrane mask per tomogram: {len(args.tomograms)} tomograms, "
                         f"{len(args.masks)} masks")
    device = choose_device(args.device)
    use_all_cores(args.threads)
    items, size = [], None
    for tomogram, mask in zip(args.tomograms, args.masks):
        with open_mrc(tomogram, args.voxel_size) as volume:
            size = volume.voxel_size
        image, (shape, _, _) = load_tomogram(tomogram, size, args.voxel_size)
        target = load_mask(mask, shape, 1.0, "membrane mask")
        if min(shape[1:]) < 32:
            raise InputError(f"{tomogram}: sections of {shape[1]}×{shape[2]} pixels; the GAN needs at least 32×32")
        items.append(MembraneItem(str(tomogram), image / CLIP, target, None))  # standardised and clipped → ±1
    generator, record = train_pix2pix(items, args.minutes, seed=args.seed, device=device, quiet=args.quiet)
    written = synthesize_pairs(generator, items, args.out, args.n, args.depth, args.side, args.seed, device, size,
                               quiet=args.quiet)
    print(f"trained the GAN for {record['steps']} steps ({record['seconds']:.0f} s, final L1 {record['l1']:.3f}); "
          f"wrote {len(written)} synthetic pairs to {Path(args.out).resolve()}")
    return 0
