"""Every protocol's form in Scipion's own Tk GUI (under Xvfb): it opens with its defaults, conditional
parameters show and hide as designed. Screenshots of the forms go to $TOMOROIS_FORM_IMAGES when set
(``scripts/make_figures.py`` sets it to docs/images/forms), else to a temporary folder.

Runs under pytest and under Scipion's runner (see test_protocol_phantoms.py); skipped without a display.
"""
import os
import tempfile
import unittest
from pathlib import Path

from pyworkflow.tests import BaseTest, setupTestProject

from tomorois_surfora import protocols

# (protocol, parameter to change, new value, parameters hidden by it, parameters shown by it)
TOGGLES = [("ProtTomoRoisTrain", "dims", 1, ["context", "planes"], []),
           ("ProtTomoRoisExtract", "split", False, ["seedDepthNm"], []),
           ("ProtSurfaceMeasure", "do_curvature", False, ["radiiNm"], []),
           ("ProtImportModel", "source", 3, ["filePath"], [])]


@unittest.skipUnless(os.environ.get("DISPLAY"), "Tk forms need a display (run under Xvfb)")
class TestProtocolForms(BaseTest):
    @classmethod
    def setUpClass(cls):
        import importlib

        from pyworkflow.gui import Window

        importlib.import_module("pyworkflow.gui.project")  # pyworkflow.gui.form needs it imported first

        setupTestProject(cls)
        cls.master = Window("forms")

    def openForm(self, name):
        from pyworkflow.gui.form import FormWindow

        protocol = self.newProtocol(getattr(protocols, name))
        form = FormWindow(f"Protocol Run: {name}", protocol, lambda *args: None, master=self.master)
        form.root.deiconify()
        form._checkAllChanges()
        form.root.update()
        return protocol, form

    @staticmethod
    def shown(form, name):
        """Whether the form displays the parameter (in its tab, whichever tab is in front)."""
        return form.widgetDict[name].label.grid_info() != {}

    def testEveryFormOpensWithItsDefaultsAndConditions(self):
        from PIL import ImageGrab

        folder = Path(os.environ.get("TOMOROIS_FORM_IMAGES") or tempfile.mkdtemp(prefix="forms_"))
        folder.mkdir(parents=True, exist_ok=True)
        for name in protocols.__all__:
            protocol, form = self.openForm(name)
            try:
                checked = 0
                for paramName, param in protocol._definition.iterAllParams():
                    if paramName not in form.widgetDict or not hasattr(form.widgetDict[paramName], "label"):
                        continue
                    expected = protocol.evalParamCondition(paramName) and protocol.evalParamExpertLevel(param)
                    self.assertEqual(self.shown(form, paramName), bool(expected), f"{name}.{paramName}")
                    default = param.default.get() if hasattr(param, "default") else None
                    if default is not None:
                        self.assertEqual(str(getattr(protocol, paramName).get()), str(default),
                                         f"{name}.{paramName} starts at its default")
                    checked += 1
                self.assertGreater(checked, 0, f"{name}: the form shows its parameters")
                root = form.root
                x, y = root.winfo_rootx(), root.winfo_rooty()
                image = ImageGrab.grab(bbox=(x, y, x + root.winfo_width(), y + root.winfo_height()))
                self.assertGreater(len(set(image.convert("L").getdata())), 10, f"{name}'s form is drawn")
                image.save(folder / f"{name}.png")
            finally:
                form.root.destroy()

    def testConditionalParametersHideAndShow(self):
        for name, changed, value, hidden, shown in TOGGLES:
            protocol, form = self.openForm(name)
            try:
                for paramName in hidden:
                    self.assertTrue(self.shown(form, paramName), f"{name}.{paramName} shown by default")
                form.widgetDict[changed].set(value)
                form._checkChanges(changed)
                form.root.update()
                for paramName in hidden:
                    self.assertFalse(self.shown(form, paramName), f"{name}.{paramName} hidden after {changed}")
                for paramName in shown:
                    self.assertTrue(self.shown(form, paramName), f"{name}.{paramName} shown after {changed}")
            finally:
                form.root.destroy()
