"""pytest configuration: a headless Scipion environment, set before any test imports pyworkflow; shared fixtures."""
import pytest

from tomorois_surfora.tests.scipion_env import configure

configure()


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    """Two small contact phantoms at 20 Å (48 × 112 × 112 voxels) with their ROI and decoy masks."""
    from tomorois_surfora.engine.synth import PhantomParameters, write_dataset

    folder = tmp_path_factory.mktemp("phantoms")
    write_dataset("contacts", folder, 2, seed=3, params=PhantomParameters(shape=(48, 112, 112), voxel_size=20.0),
                  quiet=True)
    tomograms = sorted(folder.glob("contacts_00?.mrc"))
    return tomograms, [t.with_name(t.stem + "_rois.mrc") for t in tomograms], \
        [t.with_name(t.stem + "_decoys.mrc") for t in tomograms]
