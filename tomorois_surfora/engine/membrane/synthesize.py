"""Extra training pairs from a pix2pix GAN (seed 004, Appendix B): images generated from deformed masks.

A U-Net generator learns to turn a membrane mask section into a tomogram section, against a PatchGAN
discriminator that judges (mask, image) pairs patch by patch; the generator's loss is the adversarial term
plus 100 × L1 to the real image. Then new masks are made by deforming the annotated ones (random rotation
by a multiple of 90°, mirroring, a smooth random displacement field and a re-threshold after Gaussian blur)
and the generator draws an image for each section: pairs with a known mask and more variety than the
annotated tomograms. They are written as MRC (tomogram, mask) pairs that ``membrane train`` takes like
any other. Off by default: whether they help is measured in the benchmark, not assumed.
"""
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..io import ensure_output_dir, write_mrc
from ..progress import Progress


def _generator(base=16):
    import torch
    from torch import nn

    def down(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True))

    def up(cin, cout):
        return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU(True))

    class Generator(nn.Module):
        """U-Net: mask (and a noise channel) → image, four levels."""

        def __init__(self):
            super().__init__()
            self.downs = nn.ModuleList([down(2, base), down(base, 2 * base), down(2 * base, 4 * base),
                                        down(4 * base, 8 * base)])
            self.ups = nn.ModuleList([up(8 * base, 4 * base), up(8 * base, 2 * base), up(4 * base, base),
                                      up(2 * base, base)])
            self.out = nn.Conv2d(base + 2, 1, 3, padding=1)

        def forward(self, mask, noise):
            x = torch.cat([mask, noise], 1)
            skips = [x]
            for layer in self.downs:
                x = layer(x)
                skips.append(x)
            skips.pop()
            for layer in self.ups:
                x = torch.cat([layer(x), skips.pop()], 1)
            return self.out(x)

    return Generator()


def _discriminator(base=16):
    from torch import nn

    return nn.Sequential(nn.Conv2d(2, base, 4, 2, 1), nn.LeakyReLU(0.2, True),
                         nn.Conv2d(base, 2 * base, 4, 2, 1), nn.BatchNorm2d(2 * base), nn.LeakyReLU(0.2, True),
                         nn.Conv2d(2 * base, 4 * base, 4, 1, 1), nn.BatchNorm2d(4 * base), nn.LeakyReLU(0.2, True),
                         nn.Conv2d(4 * base, 1, 4, 1, 1))


def _pairs(items, rng, count, patch):
    """``count`` random (mask, image) section patches from the items, as float32 arrays (count, 1, p, p)."""
    masks, images = [], []
    for _ in range(count):
        item = items[int(rng.integers(len(items)))]
        z = int(rng.integers(item.image.shape[0]))
        y = int(rng.integers(item.image.shape[1] - patch + 1))
        x = int(rng.integers(item.image.shape[2] - patch + 1))
        masks.append(item.target[z, y:y + patch, x:x + patch])
        images.append(item.image[z, y:y + patch, x:x + patch])
    return (np.stack(masks)[:, None].astype(np.float32) * 2 - 1, np.stack(images)[:, None].astype(np.float32))


def train_pix2pix(items, minutes=5.0, patch=128, batch=4, l1_weight=100.0, seed=0, device="cpu", quiet=False):
    """Train the generator on the items' (membrane mask, preprocessed image) sections for ``minutes``.

    Returns
    -------
    generator : torch.nn.Module
    record : dict
        Steps, seconds and the last losses.
    """
    import torch
    from torch.nn import functional as F

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    patch = min([patch] + [min(item.image.shape[1:]) for item in items])
    patch -= patch % 16
    generator, discriminator = _generator().to(device), _discriminator().to(device)
    opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    progress = Progress("membrane synthesize", 1, quiet=quiet)
    started, steps, last = time.perf_counter(), 0, {}
    while time.perf_counter() - started < 60 * minutes:
        mask, image = (torch.from_numpy(a).to(device) for a in _pairs(items, rng, batch, patch))
        noise = torch.randn_like(mask)
        fake = generator(mask, noise)
        real_logits = discriminator(torch.cat([mask, image], 1))
        fake_logits = discriminator(torch.cat([mask, fake.detach()], 1))
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        judged = discriminator(torch.cat([mask, fake], 1))
        adversarial = F.binary_cross_entropy_with_logits(judged, torch.ones_like(judged))
        l1 = F.l1_loss(fake, image)
        loss_g = adversarial + l1_weight * l1
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        steps += 1
        last = {"discriminator": float(loss_d.detach()), "adversarial": float(adversarial.detach()),
                "l1": float(l1.detach())}
        if steps % 50 == 0:
            progress.info(f"step {steps}: D {last['discriminator']:.3f}  G adversarial {last['adversarial']:.3f}  "
                          f"L1 {last['l1']:.3f}")
    return generator.eval(), {"steps": steps, "seconds": round(time.perf_counter() - started, 1), **last}


def deform_mask(mask, rng, displacement=4.0, smoothness=12.0):
    """A new membrane mask from ``mask`` (bool, z, y, x): rotated by a multiple of 90° in x–y, maybe mirrored,
    displaced by a smooth random field (``displacement`` voxels at most, correlated over ``smoothness``) and
    re-thresholded after a light blur so the membranes keep their thickness."""
    out = np.rot90(mask, int(rng.integers(4)), axes=(1, 2))
    if rng.random() < 0.5:
        out = out[:, :, ::-1]
    out = np.ascontiguousarray(out, dtype=np.float32)
    grid = np.indices(out.shape, dtype=np.float32)
    for axis in (1, 2):
        field = ndimage.gaussian_filter(rng.normal(size=out.shape).astype(np.float32), smoothness)
        field *= displacement / max(float(np.abs(field).max()), 1e-6)
        grid[axis] += field
    warped = ndimage.map_coordinates(out, grid, order=1, mode="reflect")
    return ndimage.gaussian_filter(warped, 0.7) >= 0.5


def synthesize_pairs(generator, items, out_dir, count, depth=32, side=256, seed=0, device="cpu", voxel_size=10.0,
                     quiet=False):
    """Write ``count`` synthetic (tomogram, mask) MRC pairs of ``depth`` × ``side`` × ``side`` voxels, from
    deformed crops of the items' masks; returns their paths as (tomogram, mask) tuples."""
    import torch

    out_dir = ensure_output_dir(out_dir)
    rng = np.random.default_rng([seed, 7])
    progress = Progress("membrane synthesize", count, quiet=quiet)
    written = []
    for index in range(count):
        item = items[int(rng.integers(len(items)))]
        d, s = min(depth, item.target.shape[0]), min(side, *item.target.shape[1:])
        s -= s % 16
        z = int(rng.integers(item.target.shape[0] - d + 1))
        y = int(rng.integers(item.target.shape[1] - s + 1))
        x = int(rng.integers(item.target.shape[2] - s + 1))
        mask = deform_mask(item.target[z:z + d, y:y + s, x:x + s], rng)
        with torch.no_grad():
            condition = torch.from_numpy(mask[:, None].astype(np.float32) * 2 - 1).to(device)
            image = generator(condition, torch.randn_like(condition))[:, 0].cpu().numpy()
        paths = (Path(out_dir) / f"synthetic_{index:03d}.mrc", Path(out_dir) / f"synthetic_{index:03d}_membranes.mrc")
        write_mrc(paths[0], image.astype(np.float32), voxel_size)
        write_mrc(paths[1], mask.astype(np.int8), voxel_size)
        written.append(paths)
        progress.step(f"{paths[0].name}: {mask.shape}, {100 * mask.mean():.1f}% membrane")
    return written
