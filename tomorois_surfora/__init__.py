"""TomoROIS-SurfORA: ROI segmentation and membrane surface morphometry for cryo-ET, as a Scipion plugin.

The algorithms live in :mod:`tomorois_surfora.engine`, which imports nothing from Scipion. The Scipion
``Plugin`` class is resolved lazily (PEP 562) so that ``import tomorois_surfora.engine`` does not pull in
pwem or pyworkflow.
"""
__version__ = "0.1.0"
_logo = "logo.png"
_references = ["Cheng2026"]  # keys of bibtex.py, whose docstring Scipion parses


def __getattr__(name):
    if name == "Plugin":
        from ._plugin import Plugin
        return Plugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
