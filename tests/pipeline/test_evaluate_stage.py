"""The evaluate stage's conversion of mmdet predictions to COCO results."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.stages.evaluate import coco_detections


def test_coco_labels_map_to_category_ids_by_the_configs_class_names(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "person"}]}))
    prediction = {"img_id": 5, "pred_instances": {"bboxes": np.array([[1.0, 2.0, 4.0, 6.0]]),
                                                  "scores": np.array([0.9]), "labels": np.array([1])}}
    out = coco_detections([prediction], gt, tmp_path / "dt.json", classes=("person", "cat"))
    assert json.loads(out.read_text()) == [{"image_id": 5, "category_id": 7, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.9}]
    with pytest.raises(ValueError, match="no category named \\['dog'\\]"):
        coco_detections([prediction], gt, tmp_path / "dt.json", classes=("dog",))
