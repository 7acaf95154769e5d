"""ROI extraction (threshold, clean-up, watershed split) and object-level metrics, on phantoms and on shapes."""
import numpy as np
import pytest
from scipy import ndimage

from tomorois_surfora.engine import InputError
from tomorois_surfora.engine.morphology import drop_small_labels, label_pieces, remove_small_pieces
from tomorois_surfora.engine.roi.extract import (ExtractionParameters, extract_rois, label_smoothed,
                                                  labels_per_min_volume, split_touching)
from tomorois_surfora.engine.roi.metrics import combine_evaluations, evaluate_rois
from tomorois_surfora.engine.synth import PhantomParameters, generate_phantom
from tomorois_surfora.engine.synth.geometry import capsule_sdf, sphere_sdf

SHAPE = (60, 100, 100)


def _grid():
    z, y, x = np.ogrid[:SHAPE[0], :SHAPE[1], :SHAPE[2]]
    return x.astype(float), y.astype(float), z.astype(float)


def _soft(mask, sigma=1.0):
    """A probability map that is high inside ``mask`` and fades across its border."""
    return np.clip(ndimage.gaussian_filter(mask.astype(np.float32), sigma), 0, 1)


def test_phantom_truth_is_recovered_from_a_blurred_probability_map():
    params = PhantomParameters(shape=(96, 160, 160), voxel_size=10.0)
    for kind in ("contacts", "invaginations"):
        phantom = generate_phantom(kind, seed=1, index=0, params=params)
        labels, table = extract_rois(_soft(phantom.rois > 0), 10.0)
        result = evaluate_rois(labels, phantom.rois)
        assert result["tp"] == result["true"] == len(phantom.truth["rois"]) and result["fp"] == 0
        assert min(m[2] for m in result["matches"]) > 0.9 and result["dice"] > 0.95
        assert len(table) == len(phantom.truth["rois"])
        for record, truth in zip(sorted(table, key=lambda r: r["centroid_nm"]),
                                 sorted(phantom.truth["rois"], key=lambda r: r["centroid_nm"])):
            np.testing.assert_allclose(record["centroid_nm"], truth["centroid_nm"], atol=1.5)


def test_touching_blobs_are_split_but_an_elongated_roi_stays_whole():
    x, y, z = _grid()
    # Two balls of radius 12 nm whose centres are 20 nm apart: they overlap through a neck.
    pair = (sphere_sdf(x, y, z, (30, 50, 30), 12) <= 0) | (sphere_sdf(x, y, z, (50, 50, 30), 12) <= 0)
    # A capsule 60 nm long and 8 nm in radius whose ridge varies by less than the seed depth.
    rod = capsule_sdf(x, y, z, (15, 15, 30), (75, 20, 30), 8) <= 0
    labels, table = extract_rois(_soft(pair | rod), 10.0)
    assert len(table) == 3
    assert len(np.unique(labels[pair & (labels > 0)])) == 2
    assert len(np.unique(labels[rod & (labels > 0)])) == 1
    unsplit, table = extract_rois(_soft(pair | rod), 10.0, ExtractionParameters(split=False))
    assert len(table) == 2


def _filter_then_label(mask, voxel_size_nm, split, min_volume_nm3):
    """Labelling one minimum volume step by step: its small pieces dropped, then split (and small parts
    dropped) or labelled."""
    min_voxels = min_volume_nm3 / voxel_size_nm ** 3
    mask = remove_small_pieces(mask, min_voxels)
    if split:
        labels = split_touching(mask, voxel_size_nm, ExtractionParameters().seed_depth_nm)[0]
        return drop_small_labels(labels, min_voxels).astype(np.int32)
    return label_pieces(mask)[0].astype(np.int32)


def test_labels_for_several_minimum_volumes_match_labelling_each_alone():
    x, y, z = _grid()
    pair = (sphere_sdf(x, y, z, (30, 50, 30), 12) <= 0) | (sphere_sdf(x, y, z, (50, 50, 30), 12) <= 0)
    rod = capsule_sdf(x, y, z, (15, 15, 30), (75, 20, 30), 8) <= 0
    small = sphere_sdf(x, y, z, (80, 80, 30), 5) <= 0  # about 520 voxels: kept at 100 nm³, dropped at 2000
    mask = pair | rod | small
    volumes = (100.0, 2000.0, 1e6)  # every piece, all but the small ball, none
    for split in (False, True):
        params = ExtractionParameters(split=split)
        together = labels_per_min_volume(mask, 1.0, params, volumes)
        counts = []
        for volume in volumes:
            alone = label_smoothed(mask, 1.0, ExtractionParameters(split=split, min_volume_nm3=volume))
            assert np.array_equal(together[volume], alone), f"split {split}, minimum volume {volume}"
            assert np.array_equal(alone, _filter_then_label(mask, 1.0, split, volume)), \
                f"split {split}, minimum volume {volume}: as filtering that volume's pieces first"
            counts.append(int(alone.max()))
        assert counts == ([4, 3, 0] if split else [3, 2, 0]), "the three volumes keep different pieces"


def test_clean_up_removes_specks_and_threshold_is_respected():
    x, y, z = _grid()
    probability = _soft(sphere_sdf(x, y, z, (50, 50, 30), 10) <= 0) * 0.8
    probability[5:7, 5:7, 5:7] = 1.0  # 8 nm³, below the 2000 nm³ minimum
    labels, table = extract_rois(probability, 10.0)
    assert len(table) == 1 and labels[6, 6, 6] == 0
    assert table[0]["max_confidence"] == pytest.approx(0.8, abs=0.01)
    # Opening and closing a smooth ball leave its thresholded volume almost unchanged.
    assert table[0]["volume_nm3"] == pytest.approx(np.count_nonzero(probability[10:50, 30:70, 30:70] > 0.5), rel=0.02)
    _, table = extract_rois(probability, 10.0, ExtractionParameters(threshold=0.85))
    assert table == []


def test_rois_with_a_low_mean_confidence_are_dropped_and_the_rest_renumbered():
    probability = np.zeros((30, 60, 90), np.float32)
    probability[5:25, 10:30, 5:25] = 0.97   # sure
    probability[5:25, 10:30, 35:55] = 0.75  # unsure: above the threshold, below the minimum mean
    probability[5:25, 10:30, 65:85] = 0.93
    params = ExtractionParameters(threshold=0.5, min_confidence=0.9, split=False, opening_nm=0, closing_nm=0)
    labels, table = extract_rois(probability, 10.0, params)
    assert [r["label"] for r in table] == [1, 2] and np.all(labels[:, :, 35:55] == 0)
    assert labels[10, 20, 15] == 1 and labels[10, 20, 70] == 2
    assert [r["mean_confidence"] for r in table] == pytest.approx([0.97, 0.93])
    kept, _ = extract_rois(probability, 10.0, ExtractionParameters(**{**params.__dict__, "min_confidence": 0.0}))
    assert kept.max() == 3, "0 keeps every ROI"
    with pytest.raises(InputError, match="minimum mean confidence"):
        extract_rois(probability, 10.0, ExtractionParameters(min_confidence=1.5))


def test_metrics_count_matches_false_positives_and_misses():
    truth = np.zeros((10, 40, 40), np.int16)
    truth[2:8, 2:10, 2:10] = 1
    truth[2:8, 20:28, 2:10] = 2
    truth[2:8, 2:10, 20:28] = 3
    predicted = np.zeros_like(truth)
    predicted[2:8, 3:11, 2:10] = 5   # truth 1 shifted by one voxel: IoU 7/9
    predicted[2:8, 20:28, 2:10] = 6  # truth 2 exactly
    predicted[2:8, 30:38, 30:38] = 7  # a false positive; truth 3 is missed
    result = evaluate_rois(predicted, truth)
    assert (result["tp"], result["fp"], result["fn"]) == (2, 1, 1)
    assert result["fp_rate"] == pytest.approx(1 / 3) and result["fn_rate"] == pytest.approx(1 / 3)
    assert sorted(result["matches"]) == [(5, 1, round(7 / 9, 4)), (6, 2, 1.0)]
    intersection, sizes = 7 * 8 * 6 + 8 * 8 * 6, 3 * 384 + 3 * 384
    assert result["dice"] == pytest.approx(2 * intersection / sizes)
    assert evaluate_rois(predicted, truth, iou_threshold=0.8)["tp"] == 1
    # The miss and the false positive touch nothing: errors of detection, not of shape.
    assert (result["fn_overlapping"], result["fp_overlapping"]) == (0, 0)


def test_an_roi_found_in_the_wrong_shape_is_an_overlapping_miss_and_false_positive():
    truth = np.zeros((10, 40, 40), np.int16)
    truth[2:8, 2:10, 2:10] = 1
    truth[2:8, 20:28, 20:28] = 2
    predicted = np.zeros_like(truth)
    predicted[2:8, 5:13, 2:10] = 4   # truth 1 shifted by 3 voxels: IoU 5/11, found but not matched
    predicted[2:8, 30:38, 2:10] = 5  # nowhere near a true ROI
    result = evaluate_rois(predicted, truth)
    assert (result["tp"], result["fp"], result["fn"]) == (0, 2, 2)
    assert (result["fn_overlapping"], result["fp_overlapping"]) == (1, 1)
    pooled = combine_evaluations([result, evaluate_rois(truth, truth)])
    assert (pooled["tp"], pooled["fn_overlapping"], pooled["fp_overlapping"]) == (2, 1, 1)


def test_depth_spans_show_rois_that_reach_too_far_in_z():
    truth = np.zeros((40, 30, 30), np.int16)
    truth[10:20, 2:10, 2:10] = 1   # 10 sections deep
    truth[10:20, 20:28, 20:28] = 2
    predicted = np.zeros_like(truth)
    predicted[0:40, 2:10, 2:10] = 7  # the whole depth: 4 times too deep
    result = evaluate_rois(predicted, truth)
    assert result["depth_spans"] == [(10, 40), (10, 0)], "a missed ROI has no predicted span"
    pooled = combine_evaluations([result, evaluate_rois(truth, truth)])
    assert pooled["median_depth_ratio"] == pytest.approx(1.0), "median over found ROIs of 4, 1, 1"
    assert combine_evaluations([result])["median_depth_ratio"] == pytest.approx(4.0)


def test_bad_input_is_named():
    with pytest.raises(InputError, match="does not match the ground truth"):
        evaluate_rois(np.zeros((2, 3, 4)), np.zeros((2, 3, 5)))
    bad = np.zeros((4, 4, 4), np.float32)
    bad[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="tomo_01.mrc: contains NaN"):
        extract_rois(bad, 10.0, source="tomo_01.mrc")
    with pytest.raises(InputError, match=r"values must be probabilities in \[0, 1\]"):
        extract_rois(np.full((4, 4, 4), 3.0), 10.0)
    empty = evaluate_rois(np.zeros((3, 3, 3)), np.zeros((3, 3, 3)))
    assert empty["fp_rate"] is None and empty["dice"] is None


def test_split_slivers_below_the_minimum_volume_are_dropped_and_labels_renumbered():
    from tomorois_surfora.engine.morphology import drop_small_labels

    labels = np.zeros((4, 4, 10), np.int32)
    labels[:, :, 0:4], labels[:, :, 4:5], labels[:, :, 5:10] = 1, 2, 3  # 64, 16 and 80 voxels
    kept = drop_small_labels(labels, 20)
    assert sorted(np.unique(kept).tolist()) == [0, 1, 2]
    assert np.all(kept[:, :, 4] == 0) and np.all(kept[:, :, 5:] == 2) and np.all(kept[:, :, :4] == 1)


def test_roi_table_matches_whole_volume_statistics():
    from tomorois_surfora.engine.roi.extract import roi_table

    rng = np.random.default_rng(0)
    probabilities = rng.random(SHAPE).astype(np.float32)
    labels = np.zeros(SHAPE, np.int32)
    labels[5:20, 10:30, 40:70] = 1
    labels[30:50, 60:90, 5:25] = 2
    labels[30:40, 60:70, 5:10] = 3  # a label cut out of another one's box
    table = roi_table(labels, probabilities, voxel_size_nm=2.0)
    index = [1, 2, 3]
    means = ndimage.mean(probabilities, labels, index)
    maxima = ndimage.maximum(probabilities, labels, index)
    centroids = ndimage.center_of_mass(labels > 0, labels, index)
    assert [r["label"] for r in table] == index
    for record, mean, maximum, centroid, size in zip(table, means, maxima, centroids,
                                                     np.bincount(labels.ravel())[1:]):
        assert record["voxels"] == size and record["volume_nm3"] == size * 8.0
        assert record["mean_confidence"] == pytest.approx(mean, abs=1e-4)
        assert record["max_confidence"] == pytest.approx(maximum, abs=1e-4)
        np.testing.assert_allclose(record["centroid_nm"], np.array(centroid)[::-1] * 2.0, atol=1e-3)
