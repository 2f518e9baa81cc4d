"""CrowdHumanEvalMetric in mmengine's evaluation loop: registration, logged keys, order, dumps."""
import pickle
import random

import pytest
import torch
from mmdet.registry import METRICS
from mmengine.evaluator import Evaluator

import dsla  # noqa: F401  (registers the metric)
from dsla.evaluation import CrowdHumanEvalMetric, evaluate_files
from dsla.evaluation.crowdhuman import evaluate
from dsla.evaluation.detections import DetectionFormatError, write_odgt
from dsla.evaluation.random_crowd import as_data_samples, random_crowd_records


@pytest.fixture(scope="module")
def crowd():
    return random_crowd_records(25, seed=5)


@pytest.fixture
def ann_file(tmp_path, crowd):
    return str(write_odgt(tmp_path / "annotation_val.odgt", crowd[0]))


def test_registered_in_mmdet_metrics_and_logs_the_four_keys_under_crowdhuman(ann_file, crowd):
    metric = METRICS.build(dict(type="CrowdHumanEvalMetric", ann_file=ann_file))
    assert isinstance(metric, CrowdHumanEvalMetric)
    evaluator = Evaluator(metric)
    samples = as_data_samples(crowd[1])
    for start in range(0, len(samples), 4):  # batches of 4, as a val loop would
        evaluator.process(data_samples=samples[start:start + 4], data_batch={})
    logged = evaluator.evaluate(len(samples))
    assert set(logged) == {"crowdhuman/AP", "crowdhuman/MR2", "crowdhuman/JI",
                           "crowdhuman/Recall"}
    assert all(0.0 <= value <= 1.0 for value in logged.values())
    # same numbers as the function on the records (up to the float32 of the predictions)
    expected = evaluate(crowd[0], crowd[1])
    assert logged["crowdhuman/AP"] == pytest.approx(expected["AP"], abs=1e-6)
    assert logged["crowdhuman/JI"] == pytest.approx(expected["JI"], abs=1e-6)


def test_ground_truth_is_found_by_image_id_whatever_the_order(ann_file, crowd):
    samples = as_data_samples(crowd[1])
    in_order = CrowdHumanEvalMetric(ann_file=ann_file)
    in_order.process({}, samples)
    shuffled = CrowdHumanEvalMetric(ann_file=ann_file)
    shuffled.process({}, random.Random(0).sample(samples, len(samples)))
    assert shuffled.compute_metrics(shuffled.results) == in_order.compute_metrics(in_order.results)


def test_results_are_plain_picklable_data(ann_file, crowd):
    metric = CrowdHumanEvalMetric(ann_file=ann_file)
    metric.process({}, as_data_samples(crowd[1]))
    restored = pickle.loads(pickle.dumps(metric.results))
    assert not any(isinstance(v, torch.Tensor) for r in restored for v in r.values())
    assert metric.compute_metrics(restored) == metric.compute_metrics(metric.results)


def test_outfile_prefix_dumps_detections_that_the_file_evaluation_reads_back(tmp_path, ann_file,
                                                                             crowd):
    metric = CrowdHumanEvalMetric(ann_file=ann_file, outfile_prefix=str(tmp_path / "dets"))
    metric.process({}, as_data_samples(crowd[1]))
    result = metric.compute_metrics(metric.results)
    from_file = evaluate_files(ann_file, tmp_path / "dets.odgt")
    assert from_file == pytest.approx(result, abs=1e-9)


def test_a_subset_of_images_is_evaluated_on_its_own(ann_file, crowd):
    metric = CrowdHumanEvalMetric(ann_file=ann_file)
    metric.process({}, as_data_samples(crowd[1][:10]))
    result = metric.compute_metrics(metric.results)
    assert result == pytest.approx(evaluate(crowd[0][:10], crowd[1][:10]), abs=1e-6)


def test_bad_predictions_name_the_image(ann_file, crowd):
    samples = as_data_samples(crowd[1][:3])
    samples[1]["pred_instances"]["bboxes"][2, 0] = float("nan")
    metric = CrowdHumanEvalMetric(ann_file=ann_file)
    metric.process({}, samples)
    with pytest.raises(DetectionFormatError, match="'img000001'.*dtboxes\\[2\\].*non-finite"):
        metric.compute_metrics(metric.results)

    stranger = as_data_samples(crowd[1][:1])
    stranger[0]["img_id"] = "not-in-the-annotations"
    metric = CrowdHumanEvalMetric(ann_file=ann_file)
    metric.process({}, stranger)
    with pytest.raises(DetectionFormatError, match="'not-in-the-annotations'.*not in the ground"):
        metric.compute_metrics(metric.results)


def test_an_image_without_predictions_counts_as_all_missed(ann_file, crowd):
    dt_records = [dict(r) for r in crowd[1][:4]]
    dt_records[2]["dtboxes"] = []
    metric = CrowdHumanEvalMetric(ann_file=ann_file)
    metric.process({}, as_data_samples(dt_records))
    result = metric.compute_metrics(metric.results)
    assert result == pytest.approx(evaluate(crowd[0][:4], dt_records), abs=1e-6)
    assert result["Recall"] < evaluate(crowd[0][:4], crowd[1][:4])["Recall"]
