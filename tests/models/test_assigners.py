"""Eqs. 2–4 against values worked out by hand on two overlapping instances."""
import pytest
import torch
from mmengine.structures import InstanceData

import dsla  # noqa: F401  (registers the modules)
from dsla.models.task_modules.assigners import OneToOneAssigner, SoftLabelAssigner
from dsla.models.task_modules.assigners.one_to_one_assigner import (CERTAIN, NEGATIVE, SOFT,
                                                                    prior_region)
from dsla.models.task_modules.assigners.soft_label_assigner import soft_label_scale

from two_instances import A, make_instances


def test_one_to_one_certain_anchors():
    pred, gt = make_instances()
    result = OneToOneAssigner(center_radius=None).assign(pred, gt)
    assert result.gt_inds.tolist() == [1, 0, 0, 0, 2, 0, 0]
    assert result.labels.tolist() == [0, -1, -1, -1, 0, -1, -1]
    assert result.max_overlaps[[0, 4]].tolist() == pytest.approx([0.9, 0.7])


def test_soft_label_assigner_sets_and_targets_first_and_last_epoch():
    pred, gt = make_instances()
    assigner = SoftLabelAssigner(num_soft_anchors=2, t_max=0.6, t_min=0.4, center_radius=None)
    first = assigner.assign(pred, gt, epoch=0, max_epochs=36)
    assert first.gt_inds.tolist() == [1, 1, 2, 2, 2, 0, 0]
    assert first.get_extra_property('point_role').tolist() == [
        CERTAIN, SOFT, SOFT, SOFT, CERTAIN, NEGATIVE, NEGATIVE]
    t = 0.6  # eq. 4 at j = 0
    assert first.get_extra_property('soft_targets').tolist() == pytest.approx(
        [1.0, 0.625 * t, t, 0.75 * t, 1.0, 0.0, 0.0])
    last = assigner.assign(pred, gt, epoch=35, max_epochs=36)
    t = 0.4  # eq. 4 at j = N - 1
    assert last.get_extra_property('soft_targets').tolist() == pytest.approx(
        [1.0, 0.625 * t, t, 0.75 * t, 1.0, 0.0, 0.0])


def test_eq4_schedule_values():
    assert soft_label_scale(0, 5, 0.6, 0.4) == pytest.approx(0.6)
    assert soft_label_scale(2, 5, 0.6, 0.4) == pytest.approx(0.5)  # (0.4-0.6)/4·2 + 0.6
    assert soft_label_scale(4, 5, 0.6, 0.4) == pytest.approx(0.4)
    assert soft_label_scale(0, 1, 0.6, 0.4) == pytest.approx(0.6)  # N = 1: the first epoch
    with pytest.raises(ValueError, match='epoch must be in'):
        soft_label_scale(5, 5, 0.6, 0.4)


def test_poto_exponent_option_changes_the_certain_anchor():
    # point a: p = .9, IoU .5 -> S = .45 (plain) but .9^.2 · .5^.8 = .562 (α = .8)
    # point b: p = .5, IoU .8 -> S = .40 (plain) but .5^.2 · .8^.8 = .728 (α = .8)
    points = [((20, 10), [0., 0., 40., 20.], 0.9), ((20, 30), [0., 0., 40., 32.], 0.5)]
    pred, gt = make_instances(points, gts=(A,))
    plain = OneToOneAssigner(center_radius=None).assign(pred, gt)
    poto = OneToOneAssigner(center_radius=None, poto_alpha=0.8).assign(pred, gt)
    assert plain.gt_inds.tolist() == [1, 0]
    assert poto.gt_inds.tolist() == [0, 1]
    assert poto.max_overlaps[1].item() == pytest.approx(0.5 ** 0.2 * 0.8 ** 0.8, rel=1e-4)


def test_prior_region_centre_radius_clips_to_box():
    priors = torch.tensor([[20., 20., 8., 8.], [5., 20., 8., 8.], [20., 20., 16., 16.]])
    inside = prior_region(priors, torch.tensor([A]), center_radius=1.5)  # centre (20, 20)
    # 12 px half side at stride 8: (5, 20) is 15 px from the centre -> outside; at stride 16 the
    # half side is 24 px, clipped to the box
    assert inside[:, 0].tolist() == [True, False, True]


def test_ignore_regions_and_empty_images():
    pred, gt = make_instances()
    ignore = InstanceData(bboxes=torch.tensor([[60., 0., 80., 40.]]))  # covers point 6
    result = OneToOneAssigner(center_radius=None).assign(pred, gt, ignore)
    assert result.gt_inds[6].item() == -1
    empty = InstanceData(bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long))
    for assigner, kwargs in ((OneToOneAssigner(), {}),
                             (SoftLabelAssigner(), dict(epoch=0, max_epochs=3))):
        result = assigner.assign(pred, empty, ignore, **kwargs)
        assert result.gt_inds.tolist() == [0, 0, 0, 0, 0, 0, -1]
    assert result.get_extra_property('soft_targets').sum().item() == 0


def test_soft_targets_carry_no_gradient():
    pred, gt = make_instances()
    pred.scores = pred.scores.clone().requires_grad_(True)
    result = SoftLabelAssigner(num_soft_anchors=2, center_radius=None).assign(
        pred, gt, epoch=0, max_epochs=3)
    assert not result.get_extra_property('soft_targets').requires_grad


def test_large_assignment_gives_every_instance_anchors():
    """~20,000 points x 100 instances, the size of a CrowdHuman image (timed in the report)."""
    torch.manual_seed(0)
    n, m = 20000, 100
    xy = torch.rand(n, 2) * 800
    pred = InstanceData(priors=torch.cat([xy, torch.full((n, 2), 8.)], 1),
                        bboxes=torch.cat([xy - 20, xy + 20], 1), scores=torch.rand(n, 3))
    corner = torch.rand(m, 2) * 700
    gt = InstanceData(bboxes=torch.cat([corner, corner + 30 + torch.rand(m, 2) * 70], 1),
                      labels=torch.randint(0, 3, (m,)))
    result = SoftLabelAssigner(num_soft_anchors=6).assign(pred, gt, epoch=0, max_epochs=36)
    roles = result.get_extra_property('point_role')
    assert (roles == CERTAIN).sum() > 0.8 * m and (roles == SOFT).sum() > 3 * m
    assigned = result.gt_inds[roles != NEGATIVE] - 1
    assert set(assigned.tolist()) <= set(range(m))
