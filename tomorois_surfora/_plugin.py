"""The Scipion ``Plugin`` class (imported lazily by the package ``__init__``)."""
from pathlib import Path

import pwem


class Plugin(pwem.Plugin):
    """Scipion plugin entry for TomoROIS-SurfORA.

    Everything runs from the Python environment Scipion runs in (no external binaries to install), so
    there are no variables or binaries to declare.
    """

    # pyworkflow finds a plugin's package, version and path through ``Plugin.__module__``; the class lives
    # in this private module only so that importing the engine does not import pwem.
    __module__ = "tomorois_surfora"
    # The plugin's documentation: the README of this checkout (Scipion installs plugins from a folder with
    # --devel), until the repository has a public address.
    _url = (Path(__file__).resolve().parent.parent / "README.md").as_uri()

    @classmethod
    def _defineVariables(cls):
        pass

    @classmethod
    def defineBinaries(cls, env):
        pass
