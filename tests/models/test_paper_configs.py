"""The paper profile's configs, as a GPU user runs them, build, load ImageNet-shaped ResNet-50
weights and take a training step — on CPU, at their full input size, on two synthetic images."""
import json
import os
from pathlib import Path

import pytest
import torch
from mmengine.runner import Runner

import dsla  # noqa: F401
from dsla.datasets.synthetic import generate_dataset
from experiments import compose

CONFIGS = Path(__file__).resolve().parents[2] / 'experiments' / 'configs'


def imagenet_shaped_resnet50(path: Path) -> dict:
    """A randomly initialised torchvision ResNet-50 state dict (the keys and shapes of the
    ImageNet checkpoint the paper profile loads), written to ``path``."""
    import torchvision

    torch.manual_seed(1)
    state = torchvision.models.resnet50().state_dict()
    torch.save(state, path)
    return state


def crowdhuman_layout(root: Path) -> Path:
    """Two 1024 px synthetic crowd images for training in CrowdHuman's layout."""
    generate_dataset(root, preset='crowd', num_images=3, val_fraction=1 / 3, image_size=1024,
                     seed=0, workers=1)
    return root


def coco_layout(root: Path) -> Path:
    """Two 1024 px synthetic images in COCO 2017's layout (``annotations/instances_train2017.json``,
    ``train2017/``), their persons under COCO's 'person' category (the shapes are unknown
    categories there, which the loader drops and reports)."""
    source = generate_dataset(root / 'synth', preset='sparse', num_images=3, val_fraction=1 / 3,
                              image_size=1024, seed=0, workers=1)
    (root / 'annotations').mkdir()
    ann = json.loads((source / 'annotation_train.json').read_text())
    (root / 'annotations' / 'instances_train2017.json').write_text(json.dumps(ann))
    os.symlink(source / 'Images', root / 'train2017')
    return root


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow  # two ResNet-50 steps at ~1400 x 1000 on CPU: a minute or two
@pytest.mark.parametrize('dataset', ['crowdhuman', 'coco'])
def test_paper_config_loads_imagenet_weights_and_trains_one_step(dataset, tmp_path):
    cfg = compose.compose('paper', 'dsla_fs', dataset)
    weights = imagenet_shaped_resnet50(tmp_path / 'resnet50_imagenet.pth')
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'resnet50_imagenet.pth')
    root = (crowdhuman_layout if dataset == 'crowdhuman' else coco_layout)(tmp_path / 'data')
    loader = cfg.train_dataloader
    loader.dataset.data_root = f'{root}/'
    loader.batch_size, loader.num_workers, loader.persistent_workers = 2, 0, False
    if dataset == 'coco':
        loader.dataset.filter_cfg = dict(filter_empty_gt=False, min_size=32)
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader',
                'test_evaluator', 'test_cfg'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None  # no 130 MB checkpoint
    cfg.train_cfg.max_epochs = 1
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    model = runner.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    runner.train()

    assert len(runner.train_dataloader.dataset) == 2 and runner.iter == 1
    # the configured input size: the short side drawn from the config's scales (>= 480)
    batch = next(iter(runner.train_dataloader))
    assert min(batch['inputs'][0].shape[-2:]) >= 480
    # the backbone started from the file (its frozen stem is still exactly the file's)
    assert torch.equal(model.backbone.conv1.weight.detach(), weights['conv1.weight'])
    assert torch.equal(model.backbone.layer1[0].conv1.weight.detach(),
                       weights['layer1.0.conv1.weight'])
    # one optimiser step moved the trained parameters, SLA subnet included
    after = model.state_dict()
    for name in ('bbox_head.conv_cls.weight', 'bbox_head.sla_conv_cls.weight',
                 'backbone.layer4.2.conv3.weight', 'neck.0.fpn_convs.0.conv.weight'):
        assert not torch.equal(before[name], after[name]), name
    scalars = [json.loads(line) for line in
               (Path(runner.log_dir) / 'vis_data' / 'scalars.json').read_text().splitlines()]
    logged = set().union(*scalars)
    assert {'loss_o2o_cls', 'loss_o2o_bbox', 'loss_o2o_l1', 'loss_sla_cls',
            'loss_sla_bbox'} <= logged
