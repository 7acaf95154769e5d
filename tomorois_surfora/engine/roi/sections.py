"""Input channels of 2D models: a section, its neighbours, and z-averaged slabs further out.

A 2D network labels one section at a time. It reads ``context`` neighbouring sections on each side as
extra channels and, with ``far_context`` > 0, that many slabs on each side beyond them: each slab is the mean
of a range of sections twice as far out and twice as wide as the one before (offsets c+1…2c+1,
2c+2…4c+3, … for ``context`` c). The slabs cover z without gaps out to (c+1)·2^far_context sections
at a cost of only 2·far_context channels, so the network sees where a membrane is above and below a section:
the missing wedge blanks a vesicle's two z caps alike, and which cap holds a bud's mouth shows only tens of
nm away. Sections beyond the volume repeat the first or last section, for training and prediction alike.
"""
import numpy as np


def section_offsets(context, far_context=0):
    """Inclusive z-offset ranges ``(first, last)`` of every channel, from the farthest below to the farthest above."""
    near = [(offset, offset) for offset in range(-context, context + 1)]
    far = [((context + 1) * 2 ** k, (context + 1) * 2 ** (k + 1) - 1) for k in range(far_context)]
    return [(-last, -first) for first, last in reversed(far)] + near + far


def channel_count(context, far_context=0):
    """Number of input channels of a 2D model."""
    return 2 * context + 1 + 2 * far_context


class SectionChannels:
    """The channels of any section of one volume, with cumulative sums along z for the slab means.

    Parameters
    ----------
    image : ndarray (Z, Y, X)
    context, far_context : int
        See the module docstring.
    """

    def __init__(self, image, context, far_context=0):
        self.image, self.depth = image, image.shape[0]
        self.ranges = section_offsets(context, far_context)
        self._sums = None
        if far_context:
            self._pad = self.ranges[-1][1]
            padded = np.pad(image, ((self._pad, self._pad), (0, 0), (0, 0)), mode="edge")
            self._sums = np.zeros((padded.shape[0] + 1,) + image.shape[1:], np.float32)
            np.cumsum(padded, axis=0, dtype=np.float32, out=self._sums[1:])
            del padded

    def __call__(self, z, rows=slice(None), cols=slice(None)):
        """Channels ``(C, rows, cols)`` (float32) of section ``z``."""
        out = []
        for first, last in self.ranges:
            if first == last:
                out.append(self.image[int(np.clip(z + first, 0, self.depth - 1)), rows, cols])
            else:
                hi, lo = self._sums[z + last + self._pad + 1, rows, cols], self._sums[z + first + self._pad, rows, cols]
                out.append((hi - lo) / (last - first + 1))
        return np.stack(out).astype(np.float32, copy=False)
