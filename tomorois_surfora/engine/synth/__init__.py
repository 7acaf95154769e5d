"""Synthetic cryo-ET phantoms with ground truth: contact sites and invaginations (the embedded default data)."""
from .dataset import (KINDS, Phantom, PhantomParameters, generate_phantom, item_rng, ts_id_for, write_dataset,
                      write_phantom)
from .imaging import BilayerModel, Microscope
from .layout import ContactSceneSpec, InvaginationSceneSpec

__all__ = ["KINDS", "Phantom", "PhantomParameters", "generate_phantom", "item_rng", "ts_id_for", "write_dataset",
           "write_phantom", "BilayerModel", "Microscope", "ContactSceneSpec", "InvaginationSceneSpec"]
