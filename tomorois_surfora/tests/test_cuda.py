"""TomoROIS on CUDA: the network, training and prediction on the GPU agree with the CPU.

Skipped where PyTorch sees no GPU (CI and the development machines); run it on a GPU machine with
``bash scripts/test.sh -k cuda`` (``benchmarks/check_cuda.py`` measures the same more fully).
"""
import numpy as np
import pytest
import torch

from tomorois_surfora.engine.io import read_mrc
from tomorois_surfora.engine.roi.model_file import load_model
from tomorois_surfora.engine.roi.msd import MSDNet, forward_and_backward, relative_difference
from tomorois_surfora.engine.roi.predict import predict_file
from tomorois_surfora.engine.roi.train import TrainingParameters, train_files
from tomorois_surfora.engine.synth import PhantomParameters, write_dataset

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="PyTorch sees no CUDA GPU")


@pytest.mark.parametrize("dims, shape, channels", [(2, (64, 64), 5), (3, (16, 32, 32), 1)])
def test_msd_forward_and_backward_on_cuda_match_the_naive_network_and_the_cpu(dims, shape, channels):
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    net = MSDNet(in_channels=channels, depth=12, width=2, dims=dims)
    with torch.no_grad():
        net.final_weight.normal_(0, 0.1)  # starts at zero: give gradients a way to every layer
    x = torch.randn(2, channels, *shape)
    results = forward_and_backward(net, x)
    for (out_a, grad_a), (out_b, grad_b) in ((results["cuda", "ours"], results["cuda", "naive"]),
                                             (results["cuda", "ours"], results["cpu", "ours"])):
        assert relative_difference(out_a, out_b) < 1e-4 and relative_difference(grad_a, grad_b) < 1e-4


def test_training_and_prediction_on_cuda_match_the_cpu(tmp_path):
    write_dataset("contacts", tmp_path, 1, seed=3, params=PhantomParameters(shape=(48, 112, 112), voxel_size=20.0),
                  quiet=True)
    tomogram, mask = tmp_path / "contacts_000.mrc", tmp_path / "contacts_000_rois.mrc"
    params = TrainingParameters(depth=8, epochs=3, steps_per_epoch=4, patch=48, batch_size=2)
    summary = train_files([tomogram], [mask], params, tmp_path / "m", device="cuda", quiet=True)
    model = load_model(summary["model"], "cuda")
    assert model.training["device"].startswith("cuda")
    predict_file(model, tomogram, tmp_path / "gpu.mrc", device="cuda", quiet=True)
    predict_file(load_model(summary["model"]), tomogram, tmp_path / "cpu.mrc", device="cpu", quiet=True)
    gpu, _ = read_mrc(tmp_path / "gpu.mrc")
    cpu, _ = read_mrc(tmp_path / "cpu.mrc")
    assert gpu.std() > 0.01, "a trained model's map has structure"
    assert np.abs(gpu - cpu).max() < 0.02  # cuDNN may use TF32 convolutions under PyTorch's defaults
