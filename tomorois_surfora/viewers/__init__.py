"""Scipion viewers: napari for volumes and ROIs, PyVista for clouds and meshes, matplotlib for training and
evaluation. Windows are the engine's (``tomorois-surfora view ...``), started in their own process."""
from .plot_viewers import EvaluationViewer, TrainingCurvesViewer
from .surface_viewers import SurfaceSetViewer, SurfOraViewer
from .volume_viewers import TomoMaskSetViewer, TomoRoisSetViewer, TomoRoisVolumeViewer

__all__ = ["EvaluationViewer", "TrainingCurvesViewer", "SurfaceSetViewer", "SurfOraViewer", "TomoMaskSetViewer",
           "TomoRoisSetViewer", "TomoRoisVolumeViewer"]
