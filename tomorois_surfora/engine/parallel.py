"""Numba parallel loops: the engine's threading layer, and block boundaries for per-block scratch arrays.

Modules with parallel loops import ``numba`` from here (``from ..parallel import numba``), so the layer is
set once, before any of their loops is compiled or run.
"""
import numba
import numpy as np

# numba's default search tries TBB first and warns when the installed TBB is too old; the built-in
# work-queue layer is always there and enough for one parallel loop at a time.
numba.config.THREADING_LAYER = "workqueue"


def blocks(n_items):
    """Block boundaries for a parallel loop: a few blocks per thread, each allocating its workspace once."""
    count = max(1, min(n_items, 4 * numba.get_num_threads()))
    return np.linspace(0, n_items, count + 1).astype(np.int64)
