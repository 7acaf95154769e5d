"""Where the benchmarks write their JSON results, and how."""
import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def write_result(name, payload):
    """Write ``payload`` as benchmarks/results/<name> (numpy scalars as floats) and say so."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(payload, indent=1, default=float))
    print(f"wrote {RESULTS / name}")


def run_section(doc, sections):
    """Parse a single ``section`` argument and run ``sections[section](args)``."""
    import argparse

    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("section", choices=tuple(sections))
    args = parser.parse_args()
    sections[args.section](args)
