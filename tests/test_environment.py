"""The stack installs and works: mmcv ops, mmdet registries, the project's plugins, one CPU step."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

REPO = Path(__file__).resolve().parents[1]
SANITY_CONFIG = REPO / "experiments" / "configs" / "sanity" / "fcos_r18_smoke.py"


def test_compiled_mmcv_ops_run_on_cpu():
    from mmcv.ops import nms

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def _fake_batch(num_images=2, size=128):
    from mmdet.structures import DetDataSample

    generator = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for _ in range(num_images):
        inputs.append(torch.randint(0, 255, (3, size, size), generator=generator, dtype=torch.uint8))
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             scale_factor=(1.0, 1.0), pad_shape=(size, size)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[10.0, 20.0, 50.0, 100.0], [40.0, 30.0, 90.0, 120.0]]),
            labels=torch.tensor([0, 0]))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_detector_from_config_trains_one_step_and_predicts():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(SANITY_CONFIG)  # also imports `dsla` through custom_imports
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    model.train()
    data = model.data_preprocessor(_fake_batch(), training=True)
    losses = model(**data, mode="loss")
    total = sum(value for key, value in losses.items() if "loss" in key)
    assert torch.isfinite(total)
    before = [p.detach().clone() for p in model.parameters()]
    total.backward()
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))

    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(_fake_batch(num_images=1), training=False)
        (result,) = model(**data, mode="predict")
    assert result.pred_instances.bboxes.shape[1] == 4
    assert len(result.pred_instances.scores) <= cfg.model.test_cfg.max_per_img


@pytest.mark.parametrize("module", ["mlflow", "optuna", "pycocotools.coco", "pandas", "matplotlib"])
def test_tracking_and_report_libraries_import(module):
    import importlib

    assert importlib.import_module(module).__name__ == module
