"""The plugin as Scipion sees it: registered through its entry point, protocols discovered and in the tree."""
import os

from pyworkflow import Config


def _walk(node):
    yield node
    for child in node.childs:
        yield from _walk(child)


def test_plugin_is_registered_and_its_protocol_discovered():
    domain = Config.getDomain()
    plugins = domain.getPlugins()
    assert "tomorois_surfora" in plugins
    assert plugins["tomorois_surfora"]._pluginInstance.getName() == "tomorois_surfora"
    assert "ProtTomoRoisPhantoms" in domain.getProtocols()


def test_protocol_appears_under_tomography_in_the_protocol_tree(tmp_path):
    from pyworkflow.gui.project.viewprotocols_extra import ProtocolTreeConfig

    tree = ProtocolTreeConfig.load(Config.getDomain(), os.path.join(tmp_path, "no-global-protocols.conf"))
    tomography = tree["Tomography"]
    sections = [n for n in _walk(tomography) if n.text == "TomoROIS-SurfORA"]
    assert sections, "protocols.conf section missing from the Tomography view"
    assert "ProtTomoRoisPhantoms" in [n.value for n in _walk(sections[0])]
