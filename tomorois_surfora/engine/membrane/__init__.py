"""Membrane segmentation: the hybrid 2.5D network of seed 004, its plain U-Net and ridge-filter baselines."""

# Here rather than in network.py so the command line and the protocols' forms list them without importing torch.
ARCHITECTURES = ("hybrid", "unet")
