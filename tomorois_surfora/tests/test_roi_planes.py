"""2D models on several section planes (views, training patches, model files, averaged prediction) and
prediction averaged over mirrored copies."""
import numpy as np
import torch

from tomorois_surfora.engine.roi.data import TrainingItem
from tomorois_surfora.engine.roi.model_file import TrainedModel, load_model, save_model
from tomorois_surfora.engine.roi.msd import MSDNet
from tomorois_surfora.engine.roi.patches import PatchSampler
from tomorois_surfora.engine.roi.planes import PLANES, from_plane, parse_planes, plane_problems, plane_view
from tomorois_surfora.engine.roi.predict import MIRROR_AXES, TileParameters, predict_array
from tomorois_surfora.engine.roi.train import TrainingParameters, train


def test_plane_views_put_the_section_axis_first_and_invert():
    volume = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    assert [plane_view(volume, p).shape for p in PLANES] == [(2, 3, 4), (3, 2, 4), (4, 2, 3)]
    assert plane_view(volume, "xz")[1, 0, 2] == volume[0, 1, 2], "x–z section y=1: rows z, columns x"
    assert plane_view(volume, "yz")[3, 1, 2] == volume[1, 2, 3], "y–z section x=3: rows z, columns y"
    for plane in PLANES:
        assert np.array_equal(from_plane(plane_view(volume, plane), plane), volume)


def test_plane_choices_are_checked():
    assert parse_planes("xy, xz,yz") == ("xy", "xz", "yz")
    assert plane_problems("xy,xz") == []
    for bad in ("xy,xy", "ab", ""):
        assert "planes must be distinct names among xy, xz, yz" in plane_problems(bad)[0]
    assert "3D models read cubes" in plane_problems("xy,xz", dims=3)[0]
    assert any("planes" in p for p in TrainingParameters(planes="xy,zz").problems())


def _one_roi_voxel_item():
    image = np.random.default_rng(0).normal(size=(20, 30, 40)).astype(np.float32)
    target = np.zeros(image.shape, np.uint8)
    target[10, 15, 20] = 1
    return TrainingItem("t", image, target)


def test_patches_of_other_planes_are_sections_of_the_transposed_volume():
    item = _one_roi_voxel_item()
    sampler = PatchSampler([item], [(0, 30)], 2, 1, 16, foreground=1.0, planes="xy,xz,yz")
    rng = np.random.default_rng(1)
    image, target, _ = sampler.sample(0, rng, augment=False, plane="xz")
    # Centred on the ROI voxel (z 10, y 15, x 20): sections y 14–16, rows z 2–17, columns x 12–27.
    assert image.shape == (3, 16, 16) and target.shape == (1, 16, 16)
    assert np.array_equal(image, item.image[2:18, 14:17, 12:28].transpose(1, 0, 2))
    assert np.argwhere(target[0]).tolist() == [[8, 8]]
    image, target, _ = sampler.sample(0, rng, augment=False, plane="yz")
    assert np.array_equal(image, item.image[2:18, 7:23, 19:22].transpose(2, 0, 1))
    assert np.argwhere(target[0]).tolist() == [[8, 8]]
    # Batches come from one plane; flips keep the ROI voxel's value and the shapes.
    for seed in range(6):
        image, target, weight = sampler.batch(3, np.random.default_rng(seed))
        assert image.shape == (3, 3, 16, 16) and target.sum() == 3 and weight.shape == target.shape


def test_z_rows_are_capped_by_the_volume_depth():
    item = _one_roi_voxel_item()
    sampler = PatchSampler([item], [(0, 30)], 2, 0, 24, foreground=1.0, planes="xy,xz")
    image, _, _ = sampler.sample(0, np.random.default_rng(0), augment=True, plane="xz")
    assert image.shape == (1, 20, 24), "x–z patches are at most the 20 sections deep"


def test_several_planes_average_the_per_plane_predictions(tmp_path):
    torch.manual_seed(0)
    net = MSDNet(in_channels=3, depth=4, dims=2, max_dilation=2)
    torch.nn.init.normal_(net.final_weight, std=0.5)
    save_model(tmp_path / "m.pt", TrainedModel(net, 20.0, 1, planes=("xy", "xz", "yz")))
    assert torch.load(tmp_path / "m.pt", weights_only=True)["version"] == 2, "older readers must refuse it"
    model = load_model(tmp_path / "m.pt")
    assert model.planes == ("xy", "xz", "yz")
    single = TrainedModel(model.net, 20.0, 1)
    image = np.random.default_rng(2).normal(size=(12, 30, 26)).astype(np.float32)
    tiles = TileParameters(tile=64, overlap=0)
    averaged = np.zeros_like(image)
    predict_array(model, image, averaged, tiles)
    expected = np.zeros_like(image)
    for plane in PLANES:
        view = np.ascontiguousarray(plane_view(image, plane))
        labelled = np.zeros_like(view)
        predict_array(single, view, labelled, tiles)
        expected += from_plane(labelled, plane) / 3
    assert np.allclose(averaged, expected, atol=1e-6)
    xy_only = np.zeros_like(image)
    predict_array(single, image, xy_only, tiles)
    assert np.abs(xy_only - averaged).max() > 1e-3, "the other planes change the result"


def test_training_on_several_planes_saves_them(tmp_path):
    items = [_one_roi_voxel_item()]
    items[0].target[8:13, 5:25, 10:30] = 1
    params = TrainingParameters(depth=4, epochs=1, steps_per_epoch=2, patch=16, batch_size=2,
                                validation_patches=2, planes="xy,xz,yz")
    summary = train(items, params, tmp_path / "m", quiet=True, voxel_size=20.0)
    assert load_model(summary["model"]).planes == ("xy", "xz", "yz")


def test_mirrored_prediction_averages_the_mirrored_copies_of_each_plane():
    torch.manual_seed(1)
    net = MSDNet(in_channels=3, depth=4, dims=2, max_dilation=2)
    torch.nn.init.normal_(net.final_weight, std=0.5)
    image = np.random.default_rng(3).normal(size=(10, 24, 28)).astype(np.float32)
    for planes in (("xy",), ("xy", "yz")):
        model = TrainedModel(net, 20.0, 1, planes=planes)
        mirrored = np.zeros_like(image)
        predict_array(model, image, mirrored, TileParameters(tile=64, overlap=0, mirrored=True))
        expected = np.zeros_like(image)
        for plane in planes:
            for axes in MIRROR_AXES:
                view = np.ascontiguousarray(np.flip(plane_view(image, plane), axes))
                labelled = np.zeros_like(view)
                predict_array(TrainedModel(net, 20.0, 1), view, labelled, TileParameters(tile=64, overlap=0))
                expected += from_plane(np.flip(labelled, axes), plane) / (4 * len(planes))
        assert np.allclose(mirrored, expected, atol=1e-6)
    assert len(set(MIRROR_AXES)) == 4 and () in MIRROR_AXES
