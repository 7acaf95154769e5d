"""PyVista scenes of clouds and meshes in the tomogram's nm frame: what ``view surface`` shows.

Clouds are points coloured by membrane label with their normals as arrows; meshes are coloured by one of
their VTP arrays with a scalar bar in physical units (a diverging map centred at 0 for signed
quantities). A membrane mask's isosurface and a tomogram section can be added in the same frame.
"""
import numpy as np

from ..errors import InputError

# Categorical colours for membrane labels (colour-blind safe, Okabe–Ito), cycled past eight labels.
LABEL_COLOURS = np.array([[230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66], [0, 114, 178],
                          [213, 94, 0], [204, 121, 167], [120, 120, 120]], np.uint8)
SELECTION_COLOUR = np.array([255, 0, 255], np.uint8)
# Titles of the VTP arrays of the design's contract; other arrays show their own name.
ARRAY_TITLES = {"distance_nm": "distance (nm)", "mean_curvature": "mean curvature H (1/nm)",
                "gaussian_curvature": "Gaussian curvature K (1/nm²)", "k1": "k1 (1/nm)", "k2": "k2 (1/nm)",
                "curvature_radius_nm": "curvature radius (nm)", "curvature_confidence": "curvature confidence",
                "roughness_nm": "roughness (nm)", "leaflet": "leaflet (+1 outer, −1 inner)", "label": "membrane"}
SIGNED_ARRAYS = {"mean_curvature", "gaussian_curvature", "k1", "k2", "leaflet"}
MAX_ARROWS = 5000


def label_colours(labels):
    """(N, 3) uint8 RGB colours for membrane labels (label 1 gets the first colour)."""
    labels = np.asarray(labels, int)
    return LABEL_COLOURS[(labels - 1) % len(LABEL_COLOURS)]


def colour_range(name, values):
    """(low, high, colour map) for showing ``values`` of array ``name``.

    Signed quantities (curvatures, leaflet, or any array with values on both sides of 0) get a diverging map
    with limits symmetric about 0, from the 2nd–98th percentile of |value| so a few outliers do not wash the
    colours out; others a sequential map over the 2nd–98th percentiles. NaN (no value) is ignored.
    """
    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0, "viridis"
    if name in SIGNED_ARRAYS or (finite.min() < 0 < finite.max()):
        bound = float(np.percentile(np.abs(finite), 98)) or float(np.abs(finite).max()) or 1.0
        return -bound, bound, "RdBu_r"
    low, high = (float(v) for v in np.percentile(finite, [2, 98]))
    if high <= low:
        low, high = float(finite.min()), float(finite.max()) + 1e-9
    return low, high, "viridis"


def cloud_polydata(cloud):
    """A ``pyvista.PolyData`` of the cloud's points with ``label`` and ``rgb`` point arrays (and normals)."""
    import pyvista as pv

    poly = pv.PolyData(np.asarray(cloud.points, float))
    labels = np.asarray(cloud.properties.get("label", np.ones(len(cloud.points), int)), int)
    poly.point_data["label"] = labels
    poly.point_data["rgb"] = label_colours(labels)
    if cloud.normals is not None:
        poly.point_data["Normals"] = np.asarray(cloud.normals, float)
    return poly


def normal_arrows(cloud, length_nm, max_arrows=MAX_ARROWS, seed=0):
    """Arrow glyphs along the normals of (at most ``max_arrows`` evenly drawn) points, ``length_nm`` long."""
    import pyvista as pv

    if cloud.normals is None or len(cloud.points) == 0:
        return None
    index = np.arange(len(cloud.points))
    if len(index) > max_arrows:
        index = np.sort(np.random.default_rng(seed).choice(index, max_arrows, replace=False))
    poly = pv.PolyData(np.asarray(cloud.points, float)[index])
    poly.point_data["Normals"] = np.asarray(cloud.normals, float)[index]
    return poly.glyph(orient="Normals", scale=False, factor=length_nm, geom=pv.Arrow(shaft_radius=0.04,
                                                                                    tip_radius=0.12))


def arrow_length(points):
    """Normal arrows are 3 point spacings long (3 nm where there is no spacing: fewer than 2 distinct points)."""
    from ..surface.mesh import point_spacing

    return 3 * ((point_spacing(points) if len(points) >= 2 else 0.0) or 1.0)


def add_cloud(plotter, cloud, arrows=True, point_size=6.0, colours=None, length_nm=None, reset_camera=None):
    """Show a cloud: points coloured by label (or by ``colours``, RGB per point), normals as arrows
    ``length_nm`` long (default :func:`arrow_length`). Returns the actors; redrawing replaces them."""
    poly = cloud_polydata(cloud)
    if colours is not None:
        poly.point_data["rgb"] = colours
    actors = {"points": plotter.add_mesh(poly, scalars="rgb", rgb=True, point_size=point_size,
                                         render_points_as_spheres=True, name="points", reset_camera=reset_camera)}
    glyphs = normal_arrows(cloud, length_nm if length_nm is not None else arrow_length(cloud.points)) if arrows \
        else None
    if glyphs is not None:
        actors["normals"] = plotter.add_mesh(glyphs, color="#d1478f", name="normals", reset_camera=reset_camera)
    else:
        plotter.remove_actor("normals")
    return actors


def mesh_polydata(mesh):
    """A ``pyvista.PolyData`` of an engine :class:`~tomorois_surfora.engine.io.Mesh` with its point arrays."""
    import pyvista as pv

    faces = np.asarray(mesh.faces, np.int64)
    cells = np.column_stack([np.full(len(faces), 3, np.int64), faces]).ravel() if len(faces) else np.zeros(0, int)
    poly = pv.PolyData(np.asarray(mesh.points, float), cells)
    for name, values in mesh.point_data.items():
        poly.point_data[name] = np.asarray(values)
    return poly


def add_mesh(plotter, mesh, array=None):
    """Show a mesh coloured by point array ``array`` (physical units on the scalar bar), or by label when
    ``array`` is None. Returns the actor.

    Raises
    ------
    InputError
        If the mesh has no array of that name.
    """
    poly = mesh_polydata(mesh)
    if array is None:
        poly.point_data["rgb"] = label_colours(poly.point_data["label"] if "label" in poly.point_data
                                               else np.ones(poly.n_points, int))
        return plotter.add_mesh(poly, scalars="rgb", rgb=True, name="mesh", smooth_shading=True)
    if array not in mesh.point_data:
        raise InputError(f"the mesh has no array {array!r}; it has: {', '.join(sorted(mesh.point_data)) or 'none'}")
    values = np.asarray(mesh.point_data[array], float)
    if values.ndim != 1:
        raise InputError(f"array {array!r} has {values.shape[1]} components per vertex; pick a scalar array")
    low, high, cmap = colour_range(array, values)
    title = ARRAY_TITLES.get(array, array)
    return plotter.add_mesh(poly, scalars=array, cmap=cmap, clim=(low, high), nan_color="lightgrey",
                            name="mesh", smooth_shading=True,
                            scalar_bar_args={"title": title, "vertical": False, "fmt": "%.3g", "position_x": 0.25,
                                             "position_y": 0.03, "width": 0.5, "height": 0.07,
                                             "title_font_size": 16, "label_font_size": 13})


def mask_isosurface(mask, voxel_size, origin_nm=(0.0, 0.0, 0.0), level=0.5):
    """The isosurface of a (z, y, x) mask at ``level`` as a ``pyvista.PolyData`` in nm (x = column, y = row,
    z = section), shifted by ``origin_nm`` (x, y, z) for crops. None when the mask is empty."""
    import pyvista as pv
    from skimage.measure import marching_cubes

    mask = np.asarray(mask, np.float32)
    if mask.min() >= level or mask.max() <= level:
        return None
    vertices, faces, _, _ = marching_cubes(np.pad(mask, 1), level)
    points = (vertices[:, ::-1] - 1) * (voxel_size / 10.0) + np.asarray(origin_nm, float)
    return pv.PolyData(points, np.column_stack([np.full(len(faces), 3), faces]).ravel())


def tomogram_section(tomogram, voxel_size, section, origin_nm=(0.0, 0.0, 0.0)):
    """A z-section of a tomogram as a flat ``pyvista.ImageData`` in nm, with a ``density`` point array."""
    import pyvista as pv

    tomogram = np.asarray(tomogram)
    if not 0 <= section < tomogram.shape[0]:
        raise InputError(f"section {section} is outside the tomogram's 0..{tomogram.shape[0] - 1}")
    spacing = voxel_size / 10.0
    image = pv.ImageData(dimensions=(tomogram.shape[2], tomogram.shape[1], 1), spacing=(spacing,) * 3,
                         origin=(origin_nm[0], origin_nm[1], origin_nm[2] + section * spacing))
    image.point_data["density"] = np.asarray(tomogram[section], np.float32).ravel()  # x fastest, as VTK
    return image


def add_context(plotter, mask=None, tomogram=None, voxel_size=None, section=None, mask_origin_nm=(0.0, 0.0, 0.0)):
    """Add a membrane mask's isosurface (translucent; a crop placed at ``mask_origin_nm``, x y z) and/or a
    whole tomogram's z-section (grey) to a scene."""
    from .contrast import robust_limits

    if (mask is not None or tomogram is not None) and voxel_size is None:
        raise InputError("a voxel size is needed to place a mask or tomogram in nm")
    if mask is not None:
        surface = mask_isosurface(mask > 0, voxel_size, mask_origin_nm)
        if surface is not None:
            plotter.add_mesh(surface, color="white", opacity=0.25, name="mask")
    if tomogram is not None:
        section = tomogram.shape[0] // 2 if section is None else section
        image = tomogram_section(tomogram, voxel_size, section)
        plotter.add_mesh(image, scalars="density", cmap="gray", clim=robust_limits(tomogram[section]),
                         show_scalar_bar=False, name="section")
