"""Standalone TomoROIS-SurfORA engine: algorithms, file I/O and the ``tomorois-surfora`` command line.

Imports nothing from Scipion (pwem, pyworkflow, tomo); the Scipion protocols call into it.
"""
from .errors import EngineError, InputError

__all__ = ["EngineError", "InputError"]
