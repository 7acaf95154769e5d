"""The demo's shipped starting models: installed, loadable, and trained as demo_models/PROVENANCE.md says."""
from pathlib import Path

import pytest

from tomorois_surfora.engine.demo import KINDS, starting_model
from tomorois_surfora.engine.roi.model_file import load_model


@pytest.mark.parametrize("kind", KINDS)
def test_shipped_starting_model_loads_with_its_training_record(kind):
    path = starting_model(kind)
    assert path is not None, f"demo_models/{kind}.pt is missing: run scripts/make_demo_models.sh"
    model = load_model(path)
    assert model.voxel_size == 20.0 and model.dims == 2
    training = model.training
    assert training.get("fine_tuned_from") is None, "trained from scratch, not fine-tuned"
    parameters = training["parameters"]
    assert parameters["time_limit_min"] == 25.0
    assert (parameters["depth"], parameters["width"], parameters["context"], parameters["planes"]) == {
        "contacts": (50, 2, 4, "xy"), "invaginations": (30, 2, 2, "xy,xz,yz")}[kind]
    assert (parameters["far_context"], parameters["dice_weight"]) == (3, 1.0)
    # the saved model is the best epoch's, so its history ends there
    assert 1 <= training["best_epoch"] == len(training["history"])
    assert len(training["items"]) == {"contacts": 10, "invaginations": 5}[kind]
    assert all(Path(name).name.startswith(kind) for name in training["items"])


def test_shipped_membrane_model_loads_with_its_training_record():
    from tomorois_surfora.engine.demo_chain import shipped_membrane_model
    from tomorois_surfora.engine.membrane.model_file import load_membrane_model

    path = shipped_membrane_model()
    assert path is not None, "demo_models/membranes.pt is missing: run scripts/make_demo_models.sh"
    model = load_membrane_model(path)
    training = model.training
    assert (model.net.config["architecture"], model.sections, model.voxel_size) == ("hybrid", 5, 10.0)
    assert model.planes == ("xy", "xz", "yz") and training["parameters"]["planes"] == "xy,xz,yz"
    assert training.get("fine_tuned_from") is None and training["parameters"]["time_limit_min"] is None
    assert training["parameters"]["epochs"] == 48 and training["best_epoch"] == 40
    assert 1 <= training["best_epoch"] == len(training["history"])
    names = [Path(name).name for name in training["items"]]
    assert len(names) == 6 and {n.split("_")[0] for n in names} == {"contacts", "invaginations"}
    assert model.preprocess.clahe and not model.preprocess.eed
