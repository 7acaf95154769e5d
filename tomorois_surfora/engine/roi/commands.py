"""``tomorois-surfora roi ...``: the ``roi`` command group; ``extract`` and ``evaluate`` are defined here."""
import json
from pathlib import Path

from ..errors import EngineError
from ..progress import Progress, for_each_input


def add_roi_commands(subparsers, positive_float, positive_int):
    """Register ``roi train|predict|extract|calibrate|evaluate`` on the CLI's subparsers."""
    from .extract import ExtractionParameters
    from .model_commands import add_model_commands

    defaults = ExtractionParameters()
    roi = subparsers.add_parser("roi", help="TomoROIS: train, predict, extract and evaluate ROIs",
                                description="TomoROIS region-of-interest stages.")
    stages = roi.add_subparsers(dest="stage", metavar="{train,predict,extract,calibrate,evaluate}", required=True)
    add_model_commands(stages, positive_float, positive_int)

    extract = stages.add_parser("extract", help="probability maps -> ROI label maps + ROI tables",
                                description="Threshold, clean up, label and split ROIs in probability maps. "
                                            "Writes <name>_rois.mrc (labels), <name>_rois.csv (one row per ROI) "
                                            "and <name>_rois.json (the same records) per input; a bad input is "
                                            "reported and the others go on.")
    extract.add_argument("probabilities", nargs="+", type=Path, help="probability maps (MRC, values in [0, 1])")
    extract.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    extract.add_argument("--voxel-size", type=positive_float, metavar="Å",
                         help="voxel size in Å (default: from each file's header)")
    extract.add_argument("--model", type=Path,
                         help="use the extraction settings `roi calibrate --model` stored in this model file; "
                              "options given here override them")
    extract.add_argument("--threshold", type=float, help=f"confidence threshold (default {defaults.threshold})")
    extract.add_argument("--opening", type=float, metavar="NM",
                         help=f"opening radius in nm, 0 to skip (default {defaults.opening_nm})")
    extract.add_argument("--closing", type=float, metavar="NM",
                         help=f"closing radius in nm, 0 to skip (default {defaults.closing_nm})")
    extract.add_argument("--min-volume", type=float, metavar="NM3",
                         help=f"drop ROIs smaller than this, in nm³ (default {defaults.min_volume_nm3:g})")
    extract.add_argument("--seed-depth", type=positive_float, metavar="NM",
                         help=f"a neck must be this much narrower than both sides to split ROIs "
                              f"(default {defaults.seed_depth_nm})")
    extract.add_argument("--min-confidence", type=float, metavar="P",
                         help=f"drop ROIs whose mean confidence is below this, 0 keeps all "
                              f"(default {defaults.min_confidence})")
    extract.add_argument("--no-split", action="store_true", help="do not split touching ROIs (default: split, or "
                                                                  "the model's calibrated choice)")
    extract.add_argument("--quiet", action="store_true", help="no progress output")
    extract.set_defaults(handler=run_extract)

    calibrate = stages.add_parser("calibrate", help="choose extraction settings on annotated tomograms",
                                  description="Extract ROIs from the probability maps of annotated tomograms with "
                                              "every setting of a grid (threshold 0.5-0.9, watershed split or "
                                              "not, minimum volume, closing, minimum mean confidence) and keep "
                                              "the one with the best object F1, then voxel Dice. Writes the "
                                              "choice and every setting's score as JSON; with --model, stores "
                                              "the choice in the model file for `roi extract --model`.")
    calibrate.add_argument("probabilities", nargs="+", type=Path,
                           help="probability maps of annotated tomograms (`roi predict` with the model to calibrate)")
    calibrate.add_argument("--truth", nargs="+", type=Path, required=True,
                           help="their true ROI label maps, in the same order")
    calibrate.add_argument("--model", type=Path, help="model file to store the chosen settings in")
    calibrate.add_argument("--out", type=Path, required=True, help="JSON file for the choice and the scores")
    calibrate.add_argument("--workers", type=positive_int, default=None,
                           help="settings scored side by side (default: one per core)")
    calibrate.add_argument("--quiet", action="store_true", help="no progress output")
    calibrate.set_defaults(handler=run_calibrate)

    evaluate = stages.add_parser("evaluate", help="compare ROI labels with ground truth",
                                 description="Object-level TP/FP/FN by IoU matching (FP rate among predicted "
                                             "ROIs, FN rate among true ROIs) and voxel Dice / IoU.")
    evaluate.add_argument("--predicted", required=True, type=Path, help="predicted ROI label map (MRC)")
    evaluate.add_argument("--truth", required=True, type=Path, help="ground-truth ROI label map (MRC)")
    evaluate.add_argument("--iou", type=float, default=0.5, help="IoU for a match (default %(default)s)")
    evaluate.add_argument("--json", type=Path, help="also write the metrics here")
    evaluate.set_defaults(handler=run_evaluate)


def extraction_parameters(args):
    """The extraction settings of ``roi extract``: the defaults, or a model's calibrated ones, then the options
    given on the command line."""
    from dataclasses import replace

    from .calibrate import EXTRACTION_KEY, extraction_from_record
    from .extract import ExtractionParameters

    params = ExtractionParameters()
    if args.model is not None:
        from .model_file import load_model

        record = load_model(args.model).training.get(EXTRACTION_KEY)
        if record is None:
            raise EngineError(f"{args.model}: the model holds no calibrated extraction settings; run "
                              f"`roi calibrate --model {args.model}` first, or leave out --model")
        params = extraction_from_record(record)
    given = {"threshold": args.threshold, "opening_nm": args.opening, "closing_nm": args.closing,
             "min_volume_nm3": args.min_volume, "seed_depth_nm": args.seed_depth,
             "min_confidence": args.min_confidence}
    params = replace(params, **{k: v for k, v in given.items() if v is not None})
    return replace(params, split=False) if args.no_split else params


def run_calibrate(args):
    from ..cores import available_cores
    from ..io import atomic_output
    from .calibrate import EXTRACTION_KEY, choose_extraction, extraction_record

    progress = Progress("roi calibrate", 1, quiet=args.quiet)
    workers = args.workers or max(1, available_cores())
    progress.info(f"scoring {len(args.probabilities)} annotated maps with every setting on {workers} worker(s)")
    params, scores = choose_extraction(args.probabilities, args.truth, workers, progress=progress.info)
    record = extraction_record(params, scores, args.probabilities)
    with atomic_output(args.out) as tmp:
        tmp.write_text(json.dumps({**record, "scores": {k: list(v) for k, v in scores.items()}}, indent=1))
    if args.model is not None:
        from .model_file import load_model, save_model

        model = load_model(args.model)
        model.training[EXTRACTION_KEY] = record
        save_model(args.model, model)
    f1, dice = record["f1_dice"]
    print(f"chose threshold {params.threshold}, split {params.split}, minimum volume {params.min_volume_nm3:g} nm³, "
          f"closing {params.closing_nm:g} nm, minimum mean confidence {params.min_confidence:g} (object F1 {f1:.3f}, "
          f"Dice {dice:.3f}); wrote {args.out}" + (f" and stored it in {args.model}" if args.model else ""))
    return 0


def run_extract(args):
    from ..io import atomic_output, check_volume, ensure_output_dir, mrc_stem, read_mrc, write_csv, write_mrc
    from .extract import extract_rois

    params = extraction_parameters(args)
    out = ensure_output_dir(args.out)

    def work(path):
        probabilities, voxel_size = read_mrc(path, args.voxel_size)
        check_volume(probabilities, path)
        labels, table = extract_rois(probabilities, voxel_size, params, source=str(path))
        stem = mrc_stem(path)
        write_mrc(out / f"{stem}_rois.mrc", labels, voxel_size)
        write_csv(out / f"{stem}_rois.csv", flat_rows(table))
        with atomic_output(out / f"{stem}_rois.json") as tmp:  # the full records, for the Scipion protocol
            tmp.write_text(json.dumps(table, indent=1))
        return f"{path.name}: {len(table)} ROI{'' if len(table) == 1 else 's'}"
    return for_each_input("roi extract", args.probabilities, args.quiet, work,
                          lambda done, total: f"extracted ROIs from {done} of {total} maps into {out.resolve()}")


def flat_rows(table):
    columns = ["label", "voxels", "volume_nm3", "x_nm", "y_nm", "z_nm", "z0", "y0", "x0", "z1", "y1", "x1",
               "mean_confidence", "max_confidence"]
    rows = {name: [] for name in columns}
    for r in table:
        values = [r["label"], r["voxels"], r["volume_nm3"], *r["centroid_nm"], *r["bbox_zyx"][0], *r["bbox_zyx"][1],
                  r["mean_confidence"], r["max_confidence"]]
        for name, value in zip(columns, values):
            rows[name].append(value)
    return rows


def run_evaluate(args):
    from ..io import read_mrc
    from .metrics import describe_depth, describe_overlapping_errors, evaluate_rois

    predicted, _ = read_mrc(args.predicted, voxel_size=1.0)
    truth, _ = read_mrc(args.truth, voxel_size=1.0)
    result = evaluate_rois(predicted, truth, args.iou, source=str(args.predicted))
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    print(f"predicted {result['predicted']}  true {result['true']}  TP {result['tp']}  FP {result['fp']}  "
          f"FN {result['fn']}  FP rate {fmt(result['fp_rate'])}  FN rate {fmt(result['fn_rate'])}  "
          f"Dice {fmt(result['dice'])}  IoU {fmt(result['iou'])}")
    print(describe_overlapping_errors(result))
    print(describe_depth(result))
    if args.json:
        from ..io import atomic_output

        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps({"predicted_file": str(args.predicted), "truth_file": str(args.truth),
                                       **result}, indent=1))
    return 0
