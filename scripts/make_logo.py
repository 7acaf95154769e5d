"""Draw the plugin's logo (tomorois_surfora/logo.png): two membranes that come close, the contact site ringed.

    .venv/bin/python scripts/make_logo.py
"""
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tomorois_surfora" / "logo.png"


def main():
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    fig, ax = plt.subplots(figsize=(1.28, 1.28), dpi=100)
    t = np.linspace(0, 2 * np.pi, 200)
    for radius, offset in ((0.55, 0.0), (0.59, 0.0)):           # a vesicle's two leaflets
        ax.plot(-0.35 + (radius + offset) * np.cos(t), (radius + offset) * np.sin(t), color="#1f4e79", lw=2)
    for y in (-0.25, -0.33):                                    # a tube's wall beside it
        ax.plot([0.45, 1.3], [y + 0.6, y + 0.6], color="#c0504d", lw=2)
        ax.plot([0.45, 1.3], [-y - 0.6, -y - 0.6], color="#c0504d", lw=2)
    ax.add_patch(plt.Circle((0.35, 0.0), 0.3, fill=False, ls="--", color="#2e7d32", lw=1.5))
    ax.set_xlim(-1, 1.3)
    ax.set_ylim(-1.15, 1.15)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.savefig(OUT, transparent=True)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
