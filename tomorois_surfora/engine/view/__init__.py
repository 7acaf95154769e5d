"""Viewers and curation: napari for volumes and ROIs, PyVista for clouds and meshes.

Edit operations (:mod:`.roi_edits`, :mod:`.cloud_edits`) are plain functions on arrays that the windows
call and the tests call directly. napari and PyVista are imported only inside the functions that open or
render a window, so importing this package costs nothing.
"""
