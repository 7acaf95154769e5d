"""Section planes of 2D models: x–y sections, and optionally x–z and y–z ones.

A 2D network trained on x–y sections sees at most a few nm of z, while the missing wedge blurs whatever
faces z (a vesicle's two caps look alike). Sections cut along x–z and y–z show a bud's neck running to its
mouth, or how far a contact reaches in z, in one image. A model trained on several planes labels the
volume once per plane and averages the probabilities. Each plane is a transposed view of a (z, y, x)
volume whose first axis is the section axis: x–y (z, y, x), x–z (y, z, x), y–z (x, z, y).
"""
import numpy as np

PLANES = ("xy", "xz", "yz")
_AXES = {"xy": (0, 1, 2), "xz": (1, 0, 2), "yz": (2, 0, 1)}


def parse_planes(text):
    """``"xy,xz,yz"`` (or a sequence of names) → a tuple of plane names, in the given order."""
    names = [name.strip() for name in text.split(",")] if isinstance(text, str) else list(text)
    return tuple(name for name in names if name)


def plane_problems(planes, dims=2):
    """Problems with a choice of planes (empty when valid)."""
    planes = parse_planes(planes)
    if not planes or any(p not in PLANES for p in planes) or len(set(planes)) != len(planes):
        return [f"planes must be distinct names among {', '.join(PLANES)}, got {','.join(planes) or 'none'}"]
    if dims == 3 and planes != ("xy",):
        return ["3D models read cubes, not sections: planes must be xy"]
    return []


def plane_axes(plane):
    """Axes of the (z, y, x) volume that become (section, rows, columns) of ``plane``."""
    return _AXES[plane]


def plane_view(volume, plane):
    """``volume`` (z, y, x) seen as sections of ``plane``: a transposed view, not a copy."""
    return volume.transpose(_AXES[plane])


def from_plane(volume, plane):
    """Inverse of :func:`plane_view`: a (section, rows, columns) volume of ``plane`` back to (z, y, x)."""
    axes = _AXES[plane]
    return volume.transpose(sorted(range(3), key=axes.__getitem__))


def mean_over_passes(image, out, passes, predict):
    """Fill ``out`` (the shape of ``image``) with the mean of a network's output over several passes.

    Parameters
    ----------
    passes : sequence of (str, tuple)
        A plane and the axes of its view to mirror (``()`` for none) per pass.
    predict : callable
        ``predict(view, result, description)`` fills ``result`` for ``view``, a contiguous copy of ``image``
        seen as sections of the pass's plane (mirrored); ``description`` names the pass for progress lines.
    """
    out[:] = 0
    for plane, axes in passes:
        view = np.ascontiguousarray(np.flip(plane_view(image, plane), axes) if axes else plane_view(image, plane))
        result = np.empty(view.shape, np.float32)
        mirror = " mirrored in " + " and ".join(("sections", "rows", "columns")[a] for a in axes) if axes else ""
        predict(view, result, f"{plane}{mirror}")
        del view
        out += from_plane(np.flip(result, axes) if axes else result, plane)
        del result
    out /= np.float32(len(passes))
