"""The shared epoch loop's pieces: where a fine-tuned model starts."""
import torch

from tomorois_surfora.engine.membrane.model_file import load_membrane_model, save_membrane_model
from tomorois_surfora.engine.membrane.preprocess import PreprocessParameters
from tomorois_surfora.engine.membrane.train import MembraneTrainingParameters, new_membrane_model
from tomorois_surfora.engine.roi.model_file import load_model, save_model
from tomorois_surfora.engine.roi.train import TrainingParameters, new_model
from tomorois_surfora.engine.training_loop import fine_tuning_start


def _counting(load):
    calls = []

    def counted(path, device="cpu"):
        calls.append(str(path))
        return load(path, device)
    return counted, calls


def test_a_fine_tuning_start_is_read_once_and_names_its_file(tmp_path):
    """train_files reads the start model once to learn its grid and hands it to train(), which must not read
    it again; the training record names the file either way."""
    path = tmp_path / "start.pt"
    model = new_model(TrainingParameters(depth=4), 20.0)
    model.training = {"items": ["a"]}
    save_model(path, model)
    load, calls = _counting(load_model)

    from_path = fine_tuning_start(path, load, "cpu")
    assert calls == [str(path)]
    assert from_path.training == {"fine_tuned_from": str(path), "previous": {"items": ["a"]}}

    loaded = load_model(path)
    started = fine_tuning_start(loaded, load, "cpu")
    assert started is loaded and calls == [str(path)], "an already loaded model is not read again"
    assert started.training["fine_tuned_from"] == str(path)
    for name, weights in model.net.state_dict().items():
        assert torch.equal(started.net.state_dict()[name], weights)


def test_a_loaded_membrane_model_knows_its_file(tmp_path):
    path = tmp_path / "membranes.pt"
    save_membrane_model(path, new_membrane_model(MembraneTrainingParameters(base=4, levels=2), 10.0,
                                                 PreprocessParameters()))
    load, calls = _counting(load_membrane_model)
    started = fine_tuning_start(load_membrane_model(path), load, "cpu")
    assert calls == [] and started.training["fine_tuned_from"] == str(path)
