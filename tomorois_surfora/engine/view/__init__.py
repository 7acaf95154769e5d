"""Viewers and curation: napari for volumes and ROIs, PyVista for clouds and meshes.

Edit operations (:mod:`.roi_edits`, :mod:`.cloud_edits`) are plain functions on arrays that the windows
call and the tests call directly. napari and PyVista are imported only inside the functions that open or
render a window, so importing this package costs nothing.
"""
import os
import sys


def has_display():
    """Whether windows can open: an X or Wayland display on Linux; macOS and Windows always have one."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
