"""Scipion protocols, one module per stage: parameters in, one engine call per item, outputs registered."""
from .protocol_phantoms import ProtTomoRoisPhantoms

__all__ = ["ProtTomoRoisPhantoms"]
