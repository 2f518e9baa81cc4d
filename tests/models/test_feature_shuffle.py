"""Feature Shuffle: channel routing between neighbouring levels, edges, cost."""
import pytest
import torch

import dsla  # noqa: F401
from dsla.models.necks import FeatureShuffle


def levels(channels=8, sizes=(16, 8, 4)):
    # level i is filled with the value i, so a resized block still tells where it came from
    return tuple(torch.full((2, channels, s, s), float(i)) for i, s in enumerate(sizes))


def test_each_level_receives_s_channels_from_each_neighbour():
    out = FeatureShuffle(shuffle_channels=2, in_channels=8)(levels())
    keep, s = 4, 2
    expected = {  # (own block, block from level l-1, block from level l+1)
        0: (0., 0., 1.),  # first level: no level below, keeps its own up-block
        1: (1., 0., 2.),
        2: (2., 1., 2.),  # last level: no level above, keeps its own down-block
    }
    for level, (own, below, above) in expected.items():
        x = out[level]
        assert x.shape == levels()[level].shape
        assert torch.all(x[:, :keep] == own)
        assert torch.all(x[:, keep:keep + s] == below)
        assert torch.all(x[:, keep + s:] == above)


def test_blocks_are_resized_bilinearly():
    small = torch.zeros(1, 4, 2, 2)
    small[:, 2:] = torch.tensor([[0., 1.], [0., 1.]])  # the down-block of level 1 is a ramp
    out = FeatureShuffle(shuffle_channels=1)((torch.zeros(1, 4, 4, 4), small))
    row = out[0][0, 3, 0]  # level 0's block from above, upsampled 2x bilinearly
    assert row.tolist() == pytest.approx([0.0, 0.25, 0.75, 1.0])


def test_zero_channels_is_identity_and_bad_values_are_named():
    inputs = levels()
    assert all(torch.equal(a, b) for a, b in zip(FeatureShuffle(0)(inputs), inputs))
    with pytest.raises(ValueError, match='shuffle_channels'):
        FeatureShuffle(shuffle_channels=5, in_channels=8)
    with pytest.raises(ValueError, match='2·S <= channels'):
        FeatureShuffle(shuffle_channels=5)(inputs)
    with pytest.raises(ValueError, match='got -1'):
        FeatureShuffle(shuffle_channels=-1)


def test_gradients_flow_only_along_the_exchange():
    """Backward routes level i's received blocks to its neighbours' sent blocks and nowhere else:
    the gradient of level 1's output slot [keep, keep + S) (from level 0) reaches only level 0's
    up-block, slot [keep + S, C) (from level 2) only level 2's down-block."""
    inputs = tuple(x.clone().requires_grad_(True) for x in levels())
    keep, s = 4, 2
    out = FeatureShuffle(shuffle_channels=s, in_channels=8)(inputs)
    out[1][:, keep:keep + s].sum().backward(retain_graph=True)
    grads = [x.grad.abs().sum(dim=(0, 2, 3)) for x in inputs]  # (C,) per level
    assert (grads[0][keep:keep + s] > 0).all() and grads[0].sum() == grads[0][keep:keep + s].sum()
    assert grads[1].sum() == 0 and grads[2].sum() == 0
    for x in inputs:
        x.grad = None
    out[1][:, keep + s:].sum().backward()
    assert inputs[0].grad.sum() == 0 and inputs[1].grad.sum() == 0
    grad2 = inputs[2].grad.abs().sum(dim=(0, 2, 3))
    assert (grad2[keep + s:] > 0).all() and grad2[:keep + s].sum() == 0
