"""PyVista normal curation: select points with a rectangle or a drawn polygon, flip, delete, relabel, undo, save.

Keys (shown in the window): r rectangle selection, p polygon selection (drag with the left button), f flip
the selection's normals, l flip every normal of the labels in the selection, x delete the selection, 1–9
give the selection that label, c clear the selection, u undo, s save. Every key calls a method of
:class:`~.cloud_edits.CloudCuration`; the selection is computed by :func:`~.cloud_edits.inside_polygon`
on the points projected with the current camera, so tests run it without a mouse.
"""
from pathlib import Path

import numpy as np

from .cloud_edits import CloudCuration, inside_polygon, project_to_display, rectangle
from .surface_scene import SELECTION_COLOUR, add_cloud, arrow_length, label_colours

KEYS = {"r": "rectangle selection", "p": "polygon selection (drag)", "f": "flip selected normals",
        "l": "flip labels in selection", "x": "delete selection", "1-9": "relabel selection",
        "c": "clear selection", "u": "undo", "s": "save"}


class CloudCurator:
    """A PyVista window on a :class:`CloudCuration`.

    Parameters
    ----------
    curation : CloudCuration
    out_path : path
        Where ``save`` writes the curated PLY.
    plotter : pyvista.Plotter, optional
        Off-screen plotters work too (tests, screenshots).
    """

    def __init__(self, curation, out_path, plotter=None):
        import pyvista as pv

        self.curation, self.out_path = curation, Path(out_path)
        self.plotter = plotter or pv.Plotter(title="SurfORA: curate normals")
        self.selected = np.zeros(len(curation.points), bool)
        self.arrow_length = arrow_length(curation.points)
        self.plotter.add_text("  ".join(f"{k} {v}" for k, v in KEYS.items()), position="upper_left",
                              font_size=8, name="keys")
        self.message = ""
        self.refresh()

    # ---------------------------------------------------------------------------------------- display
    def refresh(self):
        """Redraw points (selected ones magenta), normals and the status line."""
        cloud = self.curation.cloud()
        kept = self.curation.kept
        colours = label_colours(cloud.properties["label"])
        colours[self.selected[kept]] = SELECTION_COLOUR
        add_cloud(self.plotter, cloud, point_size=7, colours=colours, length_nm=self.arrow_length,
                  reset_camera=False)
        status = (f"{int(kept.sum())} points, {int(self.selected.sum())} selected"
                  f"{', unsaved edits' if self.curation.unsaved else ''}   {self.message}")
        self.plotter.add_text(status, position="lower_left", font_size=9, name="status")

    def _report(self, message):
        self.message = message
        self.refresh()

    # ---------------------------------------------------------------------------------------- selection
    def display_coordinates(self):
        """Every point's pixel position with the current camera (x from the left, y from the bottom)."""
        width, height = self.plotter.window_size
        camera = self.plotter.renderer.GetActiveCamera()
        matrix = camera.GetCompositeProjectionTransformMatrix(width / height, -1, 1)
        world_to_view = np.array([[matrix.GetElement(i, j) for j in range(4)] for i in range(4)])
        return project_to_display(self.curation.points, world_to_view, (width, height))

    def select_polygon(self, polygon_xy, add=False):
        """Select the points whose projection lies inside a display polygon (all depths, as a lasso)."""
        inside = inside_polygon(self.display_coordinates(), polygon_xy) & self.curation.kept
        self.selected = (self.selected | inside) if add else inside
        self._report(f"{int(inside.sum())} points inside the outline")
        return self.selected

    def select_rectangle(self, corner_a, corner_b, add=False):
        return self.select_polygon(rectangle(corner_a, corner_b), add)

    def clear(self):
        self.selected[:] = False
        self._report("selection cleared")

    # ---------------------------------------------------------------------------------------- edits
    def flip(self):
        self._report(f"flipped {self.curation.flip(self.selected)} normals")

    def flip_labels(self):
        labels = np.unique(self.curation.labels[self.selected & self.curation.kept])
        flipped = sum(self.curation.flip_label(int(label)) for label in labels)
        self._report(f"flipped {flipped} normals of label(s) {', '.join(str(v) for v in labels) or 'none'}")

    def delete(self):
        removed = self.curation.delete(self.selected)
        self.selected[:] = False
        self._report(f"deleted {removed} points")

    def relabel(self, label):
        self._report(f"{self.curation.relabel(self.selected, label)} points now label {label}")

    def undo(self):
        self._report("undone" if self.curation.undo() else "nothing to undo")

    def save(self):
        self.curation.save(self.out_path)
        self._report(f"saved {self.out_path.name}")
        return self.out_path

    # ---------------------------------------------------------------------------------------- window
    def bind_keys(self):
        """Bind the curation keys and the rectangle/polygon selection tools to the plotter."""
        plotter = self.plotter
        plotter.enable_rectangle_picking(callback=lambda sel: self.select_rectangle(sel.viewport[:2],
                                                                                    sel.viewport[2:]),
                                         show_message=False, start=False)
        for key, action in {"f": self.flip, "l": self.flip_labels, "x": self.delete, "c": self.clear,
                            "u": self.undo, "s": self.save, "p": self._start_polygon}.items():
            plotter.add_key_event(key, action)
        for digit in range(1, 10):
            plotter.add_key_event(str(digit), lambda label=digit: self.relabel(label))

    def _start_polygon(self):
        """Draw a polygon with the left button; on release, select the points inside it.

        While drawing, the camera stays still (a passive interactor style) and the outline is drawn as a 2D
        overlay in display coordinates; the previous style comes back on release."""
        from vtkmodules.vtkInteractionStyle import vtkInteractorStyleUser

        interactor = self.plotter.iren.interactor
        previous = interactor.GetInteractorStyle()
        outline, observers = [], []

        def record(*_):
            if observers and outline is not None:
                outline.append(interactor.GetEventPosition())
                self._draw_outline(outline)

        def finished(*_):
            record()
            for tag in observers:
                interactor.RemoveObserver(tag)
            observers.clear()
            interactor.SetInteractorStyle(previous)
            self.plotter.remove_actor("outline")
            if len(outline) >= 3:
                self.select_polygon(outline)
            else:
                self._report("a polygon needs at least 3 corners")

        def started(*_):
            outline.clear()
            record()

        observers.extend([interactor.AddObserver("LeftButtonPressEvent", started),
                          interactor.AddObserver("MouseMoveEvent", lambda *_: outline and record()),
                          interactor.AddObserver("LeftButtonReleaseEvent", finished)])
        interactor.SetInteractorStyle(vtkInteractorStyleUser())
        self._report("drag a polygon with the left button")

    def _draw_outline(self, outline):
        """The polygon being drawn, as a magenta line over the scene (display coordinates)."""
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
        from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D

        points, line = vtkPoints(), vtkCellArray()
        for x, y in outline + outline[:1]:
            points.InsertNextPoint(x, y, 0)
        line.InsertNextCell(len(outline) + 1)
        for index in range(len(outline) + 1):
            line.InsertCellPoint(index)
        poly = vtkPolyData()
        poly.SetPoints(points)
        poly.SetLines(line)
        mapper = vtkPolyDataMapper2D()
        mapper.SetInputData(poly)
        actor = vtkActor2D()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(1, 0, 1)
        actor.GetProperty().SetLineWidth(2)
        self.plotter.add_actor(actor, name="outline", reset_camera=False)
        self.plotter.render()

    def show(self):
        """Open the window; on close with unsaved edits, write them beside the output so nothing is lost."""
        self.bind_keys()
        self.plotter.show()
        if self.curation.unsaved:
            backup = self.out_path.with_name(self.out_path.stem + "_unsaved.ply")
            self.curation.save(backup)
            print(f"closed with unsaved edits: written to {backup}")


def open_cloud_curator(cloud, out_path, off_screen=False):
    """A :class:`CloudCurator` on a PointCloud (with normals), its window not yet shown."""
    import pyvista as pv

    return CloudCurator(CloudCuration(cloud), out_path, pv.Plotter(off_screen=off_screen,
                                                                  title="SurfORA: curate normals"))
