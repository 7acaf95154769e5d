"""``tomorois-surfora roi ...``: the ``roi`` command group; ``extract`` and ``evaluate`` are defined here."""
import json
from pathlib import Path

from ..errors import EngineError
from ..progress import Progress


def add_roi_commands(subparsers, positive_float, positive_int):
    """Register ``roi train|predict|extract|evaluate`` on the CLI's subparsers."""
    from .extract import ExtractionParameters
    from .model_commands import add_model_commands

    defaults = ExtractionParameters()
    roi = subparsers.add_parser("roi", help="TomoROIS: train, predict, extract and evaluate ROIs",
                                description="TomoROIS region-of-interest stages.")
    stages = roi.add_subparsers(dest="stage", metavar="{train,predict,extract,evaluate}", required=True)
    add_model_commands(stages, positive_float, positive_int)

    extract = stages.add_parser("extract", help="probability maps -> ROI label maps + ROI tables",
                                description="Threshold, clean up, label and split ROIs in probability maps. "
                                            "Writes <name>_rois.mrc (labels) and <name>_rois.csv (one row per "
                                            "ROI) per input; a bad input is reported and the others go on.")
    extract.add_argument("probabilities", nargs="+", type=Path, help="probability maps (MRC, values in [0, 1])")
    extract.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
    extract.add_argument("--voxel-size", type=positive_float, metavar="Å",
                         help="voxel size in Å (default: from each file's header)")
    extract.add_argument("--threshold", type=float, default=defaults.threshold,
                         help="confidence threshold (default %(default)s)")
    extract.add_argument("--opening", type=float, default=defaults.opening_nm, metavar="NM",
                         help="opening radius in nm, 0 to skip (default %(default)s)")
    extract.add_argument("--closing", type=float, default=defaults.closing_nm, metavar="NM",
                         help="closing radius in nm, 0 to skip (default %(default)s)")
    extract.add_argument("--min-volume", type=float, default=defaults.min_volume_nm3, metavar="NM3",
                         help="drop ROIs smaller than this, in nm³ (default %(default)s)")
    extract.add_argument("--seed-depth", type=positive_float, default=defaults.seed_depth_nm, metavar="NM",
                         help="a neck must be this much narrower than both sides to split ROIs (default %(default)s)")
    extract.add_argument("--min-confidence", type=float, default=defaults.min_confidence, metavar="P",
                         help="drop ROIs whose mean confidence is below this, 0 keeps all (default %(default)s)")
    extract.add_argument("--no-split", action="store_true", help="do not split touching ROIs")
    extract.add_argument("--quiet", action="store_true", help="no progress output")
    extract.set_defaults(handler=run_extract)

    evaluate = stages.add_parser("evaluate", help="compare ROI labels with ground truth",
                                 description="Object-level TP/FP/FN by IoU matching (FP rate among predicted "
                                             "ROIs, FN rate among true ROIs) and voxel Dice / IoU.")
    evaluate.add_argument("--predicted", required=True, type=Path, help="predicted ROI label map (MRC)")
    evaluate.add_argument("--truth", required=True, type=Path, help="ground-truth ROI label map (MRC)")
    evaluate.add_argument("--iou", type=float, default=0.5, help="IoU for a match (default %(default)s)")
    evaluate.add_argument("--json", type=Path, help="also write the metrics here")
    evaluate.set_defaults(handler=run_evaluate)


def run_extract(args):
    from ..io import ensure_output_dir, mrc_stem, read_mrc, write_csv, write_mrc
    from .extract import ExtractionParameters, extract_rois

    params = ExtractionParameters(threshold=args.threshold, opening_nm=args.opening, closing_nm=args.closing,
                                  min_volume_nm3=args.min_volume, split=not args.no_split,
                                  seed_depth_nm=args.seed_depth, min_confidence=args.min_confidence)
    out = ensure_output_dir(args.out)
    progress = Progress("roi extract", len(args.probabilities), quiet=args.quiet)
    failures = []
    for path in args.probabilities:
        try:
            probabilities, voxel_size = read_mrc(path, args.voxel_size)
            labels, table = extract_rois(probabilities, voxel_size, params, source=str(path))
            stem = mrc_stem(path)
            write_mrc(out / f"{stem}_rois.mrc", labels, voxel_size)
            write_csv(out / f"{stem}_rois.csv", flat_rows(table))
            progress.step(f"{path.name}: {len(table)} ROI{'' if len(table) == 1 else 's'}")
        except EngineError as exc:
            failures.append(str(exc))
            progress.step(f"{path.name}: FAILED ({exc})")
    done = len(args.probabilities) - len(failures)
    print(f"extracted ROIs from {done} of {len(args.probabilities)} maps into {out.resolve()}")
    if failures:
        raise EngineError(f"{len(failures)} input(s) failed: " + "; ".join(failures))
    return 0


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
    from .metrics import describe_overlapping_errors, evaluate_rois

    predicted, _ = read_mrc(args.predicted, voxel_size=1.0)
    truth, _ = read_mrc(args.truth, voxel_size=1.0)
    result = evaluate_rois(predicted, truth, args.iou, source=str(args.predicted))
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    print(f"predicted {result['predicted']}  true {result['true']}  TP {result['tp']}  FP {result['fp']}  "
          f"FN {result['fn']}  FP rate {fmt(result['fp_rate'])}  FN rate {fmt(result['fn_rate'])}  "
          f"Dice {fmt(result['dice'])}  IoU {fmt(result['iou'])}")
    print(describe_overlapping_errors(result))
    if args.json:
        from ..io import atomic_output

        with atomic_output(args.json) as tmp:
            tmp.write_text(json.dumps({"predicted_file": str(args.predicted), "truth_file": str(args.truth),
                                       **result}, indent=1))
    return 0
