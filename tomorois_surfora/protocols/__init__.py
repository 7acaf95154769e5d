"""Scipion protocols, one module per stage: parameters in, one engine call per item, outputs registered."""
from .protocol_curate import ProtSurfaceCurate, ProtTomoRoisCurate
from .protocol_import_model import ProtImportModel
from .protocol_membrane_evaluate import ProtMembraneEvaluate
from .protocol_membrane_segment import ProtMembraneSegment
from .protocol_membrane_train import ProtMembraneTrain
from .protocol_phantoms import ProtTomoRoisPhantoms
from .protocol_roi_evaluate import ProtTomoRoisEvaluate
from .protocol_roi_extract import ProtTomoRoisExtract
from .protocol_roi_predict import ProtTomoRoisPredict
from .protocol_roi_train import ProtTomoRoisTrain
from .protocol_surface_extract import ProtSurfaceExtract
from .protocol_surface_measure import ProtSurfaceMeasure
from .protocol_surface_mesh import ProtSurfaceMesh
from .protocol_surface_orient import ProtSurfaceOrient
from .protocol_surface_restrict import ProtSurfaceRestrict
from .protocol_surface_split import ProtSurfaceSplit

__all__ = ["ProtTomoRoisPhantoms", "ProtTomoRoisCurate", "ProtTomoRoisTrain", "ProtTomoRoisPredict", "ProtTomoRoisExtract",
           "ProtTomoRoisEvaluate", "ProtImportModel", "ProtMembraneTrain", "ProtMembraneSegment", "ProtMembraneEvaluate", "ProtSurfaceRestrict", "ProtSurfaceExtract", "ProtSurfaceOrient", "ProtSurfaceCurate", "ProtSurfaceMesh",
           "ProtSurfaceSplit", "ProtSurfaceMeasure"]
