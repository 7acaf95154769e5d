"""Where the benchmarks write their JSON results, and how."""
import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def run_record():
    """When, where and how this benchmark ran: date (UTC), machine and the command line."""
    import numpy
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    processor = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            processor = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": {"cores": os.cpu_count(), "processor": processor, "python": platform.python_version(),
                        "numpy": numpy.__version__, "torch": torch_version},
            "command": " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]])}


def write_result(name, payload):
    """Write ``payload`` (a dict) as benchmarks/results/<name>, or to ``name`` itself when it is a path with a
    folder, with a ``run`` record (date, machine, command; see :func:`run_record`) added, and say so. Numpy
    scalars are written as floats."""
    path = Path(name) if Path(name).parent != Path(".") else RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**payload, "run": run_record()}, indent=1, default=float))
    print(f"wrote {path}")


def run_section(doc, sections):
    """Parse a single ``section`` argument and run ``sections[section](args)``."""
    import argparse

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("section", choices=tuple(sections))
    args = parser.parse_args()
    sections[args.section](args)
