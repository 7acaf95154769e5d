"""Membrane segmentation: the hybrid 2.5D network of seed 004, its plain U-Net and ridge-filter baselines."""
