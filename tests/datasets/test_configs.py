"""The base dataset configs build datasets and dataloaders that yield batches."""
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from dsla.datasets.synthetic import SPARSE_CLASSES

pytestmark = pytest.mark.usefixtures("mmdet_scope")
CONFIGS = Path(__file__).resolve().parents[2] / "experiments" / "configs" / "_base_" / "datasets"


def load(name: str, data_root: Path) -> Config:
    cfg = Config.fromfile(str(CONFIGS / f"{name}.py"))
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.data_root = f"{data_root}/"
        loader.update(num_workers=0, persistent_workers=False)   # no worker processes in tests
    return cfg


def first_batch(loader_cfg):
    return next(iter(Runner.build_dataloader(loader_cfg, seed=0)))


@pytest.mark.parametrize("name, dataset_type, evaluator, val_ann", [
    ("synth_crowd", "CrowdHumanOdgtDataset", "CrowdHumanEvalMetric", "annotation_val.odgt"),
    ("crowdhuman", "CrowdHumanOdgtDataset", "CrowdHumanEvalMetric", "annotation_val.odgt"),
    ("synth_sparse", "CheckedCocoDataset", "CocoMetric", "annotation_val.json"),
    ("coco", "CheckedCocoDataset", "CocoMetric", "annotations/instances_val2017.json"),
])
def test_config_contract(name, dataset_type, evaluator, val_ann):
    cfg = Config.fromfile(str(CONFIGS / f"{name}.py"))
    root = cfg.train_dataloader.dataset.data_root
    assert root == cfg.val_dataloader.dataset.data_root == cfg.data_root
    assert cfg.train_dataloader.dataset.type == cfg.val_dataloader.dataset.type == dataset_type
    assert cfg.val_evaluator == cfg.test_evaluator and cfg.val_evaluator.type == evaluator
    assert cfg.val_evaluator.ann_file == root + val_ann
    assert val_ann == cfg.val_dataloader.dataset.ann_file
    assert cfg.val_dataloader.sampler.shuffle is False and cfg.train_dataloader.sampler.shuffle
    assert cfg.custom_imports.imports == ["dsla"]


def test_synth_sparse_classes_are_the_generator_classes():
    cfg = Config.fromfile(str(CONFIGS / "synth_sparse.py"))
    assert cfg.train_dataloader.dataset.metainfo.classes == SPARSE_CLASSES
    assert cfg.val_dataloader.dataset.metainfo.classes == SPARSE_CLASSES


@pytest.mark.parametrize("name", ["synth_crowd", "crowdhuman"])
def test_crowd_configs_yield_training_and_validation_batches(name, crowd_dir):
    cfg = load(name, crowd_dir)
    train = first_batch(cfg.train_dataloader)
    assert len(train["inputs"]) == cfg.train_dataloader.batch_size
    image = train["inputs"][0]
    assert image.dtype == torch.uint8 and image.shape[0] == 3
    if name == "synth_crowd":                       # 128 px images read at 256
        assert max(image.shape[1:]) == 256
    else:                                           # short side 480..960, long side <= 1400
        assert 480 <= min(image.shape[1:]) <= 960
    sample = train["data_samples"][0]
    assert len(sample.gt_instances) > 0 and "ignored_instances" in sample
    val = first_batch(cfg.val_dataloader)
    meta = val["data_samples"][0].metainfo
    assert {"img_id", "scale_factor", "ori_shape", "img_shape"} <= set(meta)
    assert meta["img_id"] == "crowd_000008"         # validation starts after the 8 train images


def test_sparse_configs_yield_batches_with_five_classes(sparse_dir, tmp_path):
    cfg = load("synth_sparse", sparse_dir)
    batch = first_batch(cfg.train_dataloader)
    labels = torch.cat([s.gt_instances.labels for s in batch["data_samples"]])
    assert len(labels) and labels.max() < len(SPARSE_CLASSES)
    # the real COCO config on the same data laid out as COCO 2017
    (tmp_path / "annotations").mkdir()
    shutil.copy(sparse_dir / "annotation_val.json",
                tmp_path / "annotations" / "instances_val2017.json")
    shutil.copytree(sparse_dir / "Images", tmp_path / "val2017")
    coco = load("coco", tmp_path)
    coco.val_dataloader.dataset.metainfo = dict(classes=SPARSE_CLASSES)
    meta = first_batch(coco.val_dataloader)["data_samples"][0].metainfo
    assert meta["img_shape"][1] == 800 and "scale_factor" in meta   # (1333, 800) test scale
