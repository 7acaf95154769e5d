"""The ``tomorois-surfora`` command line (also ``python -m tomorois_surfora.engine``).

One subcommand per stage. Problems a user can fix are printed as one ``tomorois-surfora: error: ...`` line
with a non-zero exit code, never as a traceback.
"""
import argparse
import sys
import warnings
from pathlib import Path

from .. import __version__
from .errors import EngineError, report_error, report_exit
from .measure.commands import add_measure_commands
from .membrane.commands import add_membrane_commands
from .roi.commands import add_roi_commands
from .surface.commands import add_surface_commands
from .view.commands import add_view_commands

PROG = "tomorois-surfora"


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _add_synth(subparsers):
    from .synth import KINDS, PhantomParameters

    defaults = PhantomParameters()
    synth = subparsers.add_parser("synth", help="generate phantom tomograms with ground truth",
                                  description="Generate synthetic cryo-ET tomograms with membrane and ROI "
                                              "ground truth (MRC + JSON), deterministic by seed.")
    kinds = synth.add_subparsers(dest="kind", metavar="{" + ",".join(KINDS) + "}", required=True)
    helps = {"contacts": "vesicles beside nanotubes (contact sites) with distractors: lone tubes, lone vesicles, "
                         "vesicle-in-vesicle pairs at similar gaps",
             "invaginations": "vesicles with inward buds (openings along z and in x-y) and plain vesicles",
             "pm_contacts": "second, independent family: a plasma membrane crossing the field, bent tubes at different "
                            "depths that each come close to it at one place (the contact sites, bounded in z), "
                            "look-alikes (cisternae, lone tubes, vesicles, particles) and its own imaging (tilt "
                            "axis x, ±50°, 5 µm defocus, coloured noise)"}
    for kind in KINDS:
        imaging = defaults.imaging(kind)
        p = kinds.add_parser(kind, help=helps[kind], description=helps[kind])
        p.add_argument("--out", required=True, type=Path, help="output folder (created if needed)")
        p.add_argument("--n", type=_positive_int, default=1, help="number of tomograms (default 1)")
        p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        p.add_argument("--shape", type=int, nargs=3, metavar=("Z", "Y", "X"), default=list(defaults.shape),
                       help="volume size in voxels (default %(default)s)")
        p.add_argument("--voxel-size", type=_positive_float, default=defaults.voxel_size, metavar="Å",
                       help="voxel size in Å (default %(default)s)")
        p.add_argument("--snr", type=_positive_float, default=imaging.snr,
                       help="signal-to-noise ratio, signal variance / noise variance (default %(default)s)")
        p.add_argument("--tilt-range", type=_positive_float, default=imaging.tilt_range, metavar="DEG",
                       help="tilt range ±DEG; the missing wedge is what lies beyond (default %(default)s)")
        p.add_argument("--workers", type=_positive_int, default=None,
                       help="phantoms generated side by side (default: one per core, at most --n)")
        p.add_argument("--quiet", action="store_true", help="no progress output")
        p.set_defaults(handler=_run_synth)


def _phantom_parameters(args):
    from dataclasses import replace

    from .synth import PhantomParameters

    params = PhantomParameters(shape=tuple(args.shape), voxel_size=args.voxel_size)
    imaging = PhantomParameters.imaging_field(args.kind)
    setattr(params, imaging, replace(getattr(params, imaging), snr=args.snr, tilt_range=args.tilt_range))
    return params


def _run_synth(args):
    from .synth import write_dataset

    manifest = write_dataset(args.kind, args.out, args.n, args.seed, _phantom_parameters(args), quiet=args.quiet,
                             workers=args.workers)
    rois = sum(item["rois"] for item in manifest["items"])
    print(f"wrote {manifest['n']} {args.kind} tomograms with {rois} ground-truth ROIs to {args.out.resolve()}")
    return 0


def _add_demo(subparsers):
    demo = subparsers.add_parser("demo", help="run the main job on the embedded synthetic data",
                                 description="Generate the embedded synthetic datasets (contact sites and "
                                             "invaginations) and run every available stage on them: TomoROIS "
                                             "fine-tunes the shipped starting model on all tomograms but the "
                                             "last of each dataset, then predicts, extracts and scores the ROIs "
                                             "of the last one.")
    demo.add_argument("--out", type=Path, default=Path("tomorois_demo"),
                      help="output folder (default ./%(default)s)")
    demo.add_argument("--n", type=_positive_int, default=2, help="tomograms per dataset (default 2)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--train-minutes", type=float, default=1.0, metavar="MIN",
                      help="TomoROIS training time per dataset; 0 skips TomoROIS (default %(default)s)")
    demo.add_argument("--from-scratch", action="store_true",
                      help="train new TomoROIS models instead of fine-tuning the shipped starting models")
    demo.add_argument("--quiet", action="store_true", help="no progress output")
    demo.set_defaults(handler=_run_demo)


def _run_demo(args):
    from .demo import run_demo

    run_demo(args.out, n=args.n, seed=args.seed, quiet=args.quiet, train_minutes=args.train_minutes,
             from_scratch=args.from_scratch)
    return 0


def build_parser():
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog=PROG, description="TomoROIS-SurfORA engine: ROI segmentation and "
                                                            "membrane surface morphometry for cryo-ET.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_synth(subparsers)
    add_roi_commands(subparsers, _positive_float, _positive_int)
    add_membrane_commands(subparsers, _positive_float, _positive_int)
    add_surface_commands(subparsers, _positive_float, _positive_int)
    add_measure_commands(subparsers, _positive_float, _positive_int)
    add_view_commands(subparsers, _positive_float, _positive_int)
    _add_demo(subparsers)
    return parser


def leaf_commands(parser=None, prefix=()):
    """Every runnable command as (the words after the program name, its parser), in the order of ``--help``."""
    parser = parser or build_parser()
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return [(prefix, parser)]
    return [leaf for name, child in groups[0].choices.items() for leaf in leaf_commands(child, prefix + (name,))]


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {message}", file=sys.stderr if file is None else file)


def main(argv=None):
    """Run the command line; return the exit code (0 success, 1 failure, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage error (2) or --help (0)
        report_exit(exc.code or 0)
        raise
    warnings.showwarning = _one_line_warning
    code = 1
    try:
        code = args.handler(args)
        return code
    except EngineError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        report_error(exc)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        code = 130
        return code
    except Exception as exc:  # a bug: keep the traceback, and give the protocol one line
        report_error(f"internal error ({type(exc).__name__}: {exc}); the traceback is in the run's log")
        raise
    finally:
        report_exit(code or 0)


if __name__ == "__main__":
    sys.exit(main())
