"""Eqs. 2–4 and OneNet's matching against values worked out by hand; conflicts in crowds."""
import pytest
import torch
from mmengine.structures import InstanceData
from two_instances import A, B, make_instances

import dsla  # noqa: F401  (registers the modules)
from dsla.models.task_modules.assigners import MinCostAssigner, OneToOneAssigner, SoftLabelAssigner
from dsla.models.task_modules.assigners.min_cost_assigner import focal_cost
from dsla.models.task_modules.assigners.one_to_one_assigner import CERTAIN, NEGATIVE, SOFT, grid_layout, prior_pairs, prior_region
from dsla.models.task_modules.assigners.soft_label_assigner import soft_label_scale


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
    # A keeps only point 1 (point 2 went to B): its max is .5, t_1 = T (two_instances.py)
    t = 0.6  # eq. 4 at j = 0
    assert first.get_extra_property('soft_targets').tolist() == pytest.approx(
        [1.0, t, t, 0.75 * t, 1.0, 0.0, 0.0])
    last = assigner.assign(pred, gt, epoch=35, max_epochs=36)
    t = 0.4  # eq. 4 at j = N - 1
    assert last.get_extra_property('soft_targets').tolist() == pytest.approx(
        [1.0, t, t, 0.75 * t, 1.0, 0.0, 0.0])


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


# --------------------------------------------------------------- conflicts between instances
# Two instances of class 0 whose centre regions overlap, five points (hand-made, so the dense
# reference path). Boxes: A = [0, 0, 40, 40], B = [20, 0, 60, 40]; prior = whole box.
def conflict_case(points):
    return make_instances(points, gts=(A, B))


def roles(result):
    return result.get_extra_property('point_role').tolist()


@pytest.mark.parametrize('assigner', [OneToOneAssigner(center_radius=None),
                                      SoftLabelAssigner(num_soft_anchors=1, center_radius=None)])
def test_certain_vs_certain_loser_takes_its_next_best_free_point(assigner):
    # point 0 at (30, 20), in A and B, predicts M = [12, 0, 52, 40] with p = .8:
    #   S_A = .8·7/13 ≈ .431, S_B = .8·2/3 ≈ .533 — the best point of both instances.
    # point 1 at (25, 20), in A and B, predicts B with p = .5: S_A = .5/3 ≈ .167, S_B = .5.
    # point 2 at (10, 20), in A only, predicts A with p = .3: S_A = .3.
    # point 3 at (5, 5), in A only, predicts A with p = .2: S_A = .2.
    # Ranking A: 0 (.431), 2 (.3), 3 (.2), 1 (.167). Ranking B: 0 (.533), 1 (.5).
    # B wins point 0 (higher S); A takes its next-best free point, 2 (O2F promotes it).
    # K = 1: B's soft anchor is point 1; A's is point 0 (its best after the certain one), which
    # is B's certain anchor: certain beats soft, and a lost soft claim is not replaced.
    M = [12., 0., 52., 40.]
    pred, gt = conflict_case([((30, 20), M, 0.8), ((25, 20), B, 0.5), ((10, 20), A, 0.3),
                              ((5, 5), A, 0.2)])
    result = assigner.assign(pred, gt, epoch=0, max_epochs=2)
    assert result.max_overlaps[[0, 2]].tolist() == pytest.approx([0.8 * 2 / 3, 0.3])
    if assigner.num_soft_anchors:
        assert result.gt_inds.tolist() == [2, 2, 1, 0]
        assert roles(result) == [CERTAIN, SOFT, CERTAIN, NEGATIVE]
        assert result.get_extra_property('soft_targets').tolist() == pytest.approx(
            [1.0, 0.6, 1.0, 0.0])  # B's only soft anchor: t = T_0 · .5/.5
    else:
        assert result.gt_inds.tolist() == [2, 0, 1, 0]
        assert roles(result) == [CERTAIN, NEGATIVE, CERTAIN, NEGATIVE]


def test_certain_beats_a_stronger_soft_claim():
    # point 0 at (30, 20), in A and B, predicts B with p = .3: S_A = .3/3 = .1, S_B = .3.
    # point 1 at (50, 20), in B only, predicts B with p = .9: S_B = .9.
    # A's only candidate is point 0: its certain anchor. B: certain 1, soft 0 (S .3 > A's .1).
    # Certain beats soft: point 0 stays A's certain anchor. Resolving by S_ij alone would hand
    # it to B as a soft anchor and leave A without any positive.
    pred, gt = conflict_case([((30, 20), B, 0.3), ((50, 20), B, 0.9)])
    result = SoftLabelAssigner(num_soft_anchors=2, center_radius=None).assign(
        pred, gt, epoch=0, max_epochs=2)
    assert result.gt_inds.tolist() == [1, 2]
    assert roles(result) == [CERTAIN, CERTAIN]
    assert result.get_extra_property('soft_targets').tolist() == [1.0, 1.0]


def test_eq3_max_runs_over_the_soft_anchors_the_instance_keeps():
    # point 0 at (30, 20), in A and B, predicts B with p = .95: S_A = .95/3 ≈ .317, S_B = .95.
    # point 1 at (10, 20), in A only, predicts A with p = .9: S_A = .9.
    # point 2 at (5, 5), in A only, predicts A with p = .3: S_A = .3.
    # A: certain 1, soft claims {0 (.317), 2 (.3)}; B: certain 0 (no other candidate).
    # Point 0 is B's certain anchor, so A keeps one soft anchor, point 2. Eq. 3 over what A keeps:
    # t_2 = T_0 · .3/.3 = .6; over its claims before the settlement it would be .6 · .3/.95 ≈ .19.
    pred, gt = conflict_case([((30, 20), B, 0.95), ((10, 20), A, 0.9), ((5, 5), A, 0.3)])
    result = SoftLabelAssigner(num_soft_anchors=2, center_radius=None).assign(
        pred, gt, epoch=0, max_epochs=2)
    assert result.gt_inds.tolist() == [2, 1, 1]
    assert roles(result) == [CERTAIN, CERTAIN, SOFT]
    assert result.get_extra_property('soft_targets').tolist() == pytest.approx([1.0, 1.0, 0.6])


# --------------------------------------------------------------------------- dense crowds
def grid_priors(sizes=((32, 32), (16, 16), (8, 8)), strides=(8, 16, 32)):
    from mmdet.models.task_modules.prior_generators import MlvlPointGenerator
    return torch.cat(MlvlPointGenerator(strides).grid_priors(list(sizes), device='cpu',
                                                              with_stride=True))


def crowd(num_gts, seed, size=256, num_classes=1):
    """A dense crowd on a size × size image: pedestrian boxes packed side by side, random
    predictions around every point (as at initialisation)."""
    g = torch.Generator().manual_seed(seed)
    priors = grid_priors()
    n = len(priors)
    h = 20 + torch.rand(num_gts, generator=g) * 100
    w = 0.41 * h
    cx = 20 + torch.rand(num_gts, generator=g) * (size - 40)
    cy = 30 + torch.rand(num_gts, generator=g) * (size - 60)
    gt_boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    dist = priors[:, 2:3] * torch.exp(0.3 + 0.5 * torch.randn(n, 4, generator=g))
    bboxes = torch.cat([priors[:, :2] - dist[:, :2], priors[:, :2] + dist[:, 2:]], 1)
    scores = torch.sigmoid(-2 + 1.5 * torch.randn(n, num_classes, generator=g))
    pred = InstanceData(priors=priors, bboxes=bboxes, scores=scores)
    gt = InstanceData(bboxes=gt_boxes,
                      labels=torch.randint(0, num_classes, (num_gts,), generator=g))
    return pred, gt


def test_no_instance_with_candidates_is_left_without_a_positive_in_a_dense_crowd():
    pred, gt = crowd(num_gts=80, seed=0)
    point, instance = prior_pairs(pred.priors, gt.bboxes, 1.5)
    has_candidates = torch.bincount(instance, minlength=len(gt)) > 0
    # the case is a real crowd: many instances share their best point (eq. 2's argmax)
    in_prior = prior_region(pred.priors, gt.bboxes, 1.5)
    from mmdet.structures.bbox import bbox_overlaps
    quality = pred.scores[:, gt.labels] * bbox_overlaps(pred.bboxes, gt.bboxes)
    best = quality.masked_fill(~in_prior, -1).argmax(0)[has_candidates]
    assert len(best) - len(best.unique()) >= 10
    for assigner, kwargs in ((OneToOneAssigner(), {}),
                             (SoftLabelAssigner(), dict(epoch=0, max_epochs=2))):
        result = assigner.assign(pred, gt, **kwargs)
        certain = roles(result)
        with_certain = torch.zeros(len(gt), dtype=torch.bool)
        with_certain[(result.gt_inds - 1)[torch.tensor(certain) == CERTAIN]] = True
        assert torch.equal(with_certain, has_candidates), type(assigner).__name__
    result = MinCostAssigner().assign(pred, gt, img_shape=(256, 256))
    assert sorted((result.gt_inds[result.gt_inds > 0] - 1).tolist()) == list(range(len(gt)))


# ----------------------------------------------------------------- OneNet's matching (hand)
# Image 100 × 100, instance G = [20, 20, 60, 60] of class 0, three points (α .25, γ 2):
#   focal cost c(p) = .25(1-p)²(-ln p) - .75 p²(-ln(1-p)):
#     c(.9) = .000263 - 1.398820 = -1.398557;  c(.3) = .147487 - .024076 = .123411;
#     c(.6) = .020433 - .247398 = -.226965
#   P0 at (40, 40), p .9, box [0, 0, 40, 40]:  L1 = 80/100 = .8, GIoU = 1/7 - 800/3600 = -.079365
#   P1 at (90, 90), p .3, box = G:             L1 = 0,           GIoU = 1
#   P2 at (40, 45), p .6, box [20, 20, 60, 70]: L1 = 10/100 = .1, GIoU = IoU = .8
#   C = 2c + 5 L1 - 2 GIoU: P0 = 1.361616, P1 = -1.753178, P2 = -1.553930 -> P1, a point outside
#   G (OneNet has no spatial prior); eq. 2 (S = p·IoU: .129, .3, .48) would take P2, and P1 lies
#   outside Ω_j anyway.
G = [20., 20., 60., 60.]
ONENET_POINTS = [((40, 40), [0., 0., 40., 40.], 0.9), ((90, 90), G, 0.3),
                 ((40, 45), [20., 20., 60., 70.], 0.6)]


def test_min_cost_matcher_picks_the_point_onenet_picks():
    pred, gt = make_instances(ONENET_POINTS, gts=(G,))
    assigner = MinCostAssigner()
    cost = assigner.cost(pred, gt, img_shape=(100, 100))
    assert cost[:, 0].tolist() == pytest.approx([1.361616, -1.753178, -1.553930], abs=1e-5)
    result = assigner.assign(pred, gt, img_shape=(100, 100))
    assert result.gt_inds.tolist() == [0, 1, 0]
    assert result.labels.tolist() == [-1, 0, -1]
    eq2 = OneToOneAssigner(center_radius=None).assign(pred, gt)
    assert eq2.gt_inds.tolist() == [0, 0, 1]
    # the weights are configurable: with class weight 10 the most confident point P0 wins
    # despite its poor box (P0: 10·-1.398557 + 4 + .158730 = -9.826840; P1: 10·.123411 - 2 =
    # -.765890; P2: 10·-.226965 + .5 - 1.6 = -3.369650)
    heavy = MinCostAssigner(class_weight=10.0)
    assert heavy.cost(pred, gt, (100, 100))[:, 0].tolist() == pytest.approx(
        [-9.826840, -0.765890, -3.369650], abs=1e-5)
    assert heavy.assign(pred, gt, img_shape=(100, 100)).gt_inds.tolist() == [1, 0, 0]


def test_min_cost_conflict_goes_to_the_lower_cost_and_the_loser_takes_its_next_point():
    # G2 = [20, 20, 60, 61]: at P1 (box G) L1 = 1/100, IoU = 1600/1640 = .975610
    #   -> C = .246822 + .05 - 1.951220 = -1.654398; at P2 L1 = 9/100, IoU = 1640/2000 = .82
    #   -> C = -.453930 + .45 - 1.64 = -1.643930. Both instances' cheapest point is P1
    # Hungarian: G -> P1, G2 -> P2 costs -3.397108; G -> P2, G2 -> P1 costs -3.208328, so G
    # keeps P1 and G2 takes P2 (greedy settles the same way here: G's cost at P1 is lower).
    pred, gt = make_instances(ONENET_POINTS, gts=(G, [20., 20., 60., 61.]))
    cost = MinCostAssigner().cost(pred, gt, (100, 100))
    assert cost[1:, 1].tolist() == pytest.approx([-1.654398, -1.643930], abs=1e-5)
    assert cost[:, 0].argmin() == cost[:, 1].argmin() == 1
    for settle in ('hungarian', 'greedy'):
        result = MinCostAssigner(settle=settle).assign(pred, gt, img_shape=(100, 100))
        assert result.gt_inds.tolist() == [0, 1, 2]


def test_hungarian_and_greedy_differ_where_one_point_is_both_favourites():
    # Two classes, class cost only (w_cls 2, L1 and GIoU weights 0). A is class 0, B class 1.
    # P0: p = (.9, .8); P1: p = (.8, .1). Focal cost c(p) = .25(1-p)²(-ln p) - .75p²(-ln(1-p)):
    #   c(.9) = -1.398557, c(.8) = .002231 - .772530 = -.770299, c(.1) = .466273 - .000790 = .465483
    # Costs 2c: A@P0 -2.797114, A@P1 -1.540598; B@P0 -1.540598, B@P1 .930966.
    # Both prefer P0; greedy gives it to A (lower cost), B takes P1: total -1.866148.
    # Hungarian: A -> P1, B -> P0: total -3.081196, lower.
    points = [((10, 10), [0., 0., 20., 20.], 0.0), ((30, 10), [20., 0., 40., 20.], 0.0)]
    pred, gt = make_instances(points, gts=([0., 0., 20., 20.], [20., 0., 40., 20.]))
    pred.scores = torch.tensor([[0.9, 0.8], [0.8, 0.1]])
    gt.labels = torch.tensor([0, 1])
    weights = dict(class_weight=2.0, l1_weight=0.0, giou_weight=0.0)
    cost = MinCostAssigner(**weights).cost(pred, gt, (100, 100))
    assert cost.flatten().tolist() == pytest.approx([-2.797114, -1.540598, -1.540598, 0.930966], abs=1e-5)
    hungarian = MinCostAssigner(**weights).assign(pred, gt, img_shape=(100, 100))
    greedy = MinCostAssigner(settle='greedy', **weights).assign(pred, gt, img_shape=(100, 100))
    assert hungarian.gt_inds.tolist() == [2, 1]
    assert greedy.gt_inds.tolist() == [1, 2]
    assert (-hungarian.max_overlaps.sum()).item() == pytest.approx(-3.081196, abs=1e-5)
    assert (-greedy.max_overlaps.sum()).item() == pytest.approx(-1.866148, abs=1e-5)
    with pytest.raises(ValueError, match='settle'):
        MinCostAssigner(settle='min')


def matched_cost(result, cost):
    """Total C_ij of an assignment, from the dense cost (N, M)."""
    point = (result.gt_inds > 0).nonzero().flatten()
    return cost[point, result.gt_inds[point] - 1].double().sum().item()


@pytest.mark.parametrize('seed', range(8))
def test_hungarian_reaches_the_brute_force_optimum(seed):
    """Small random images: the total cost equals the minimum over every injective map of the
    instances to the points (all permutations)."""
    import itertools
    g = torch.Generator().manual_seed(seed)
    num_points, num_gts = 6, 2 + seed % 4
    priors = torch.cat([torch.rand(num_points, 2, generator=g) * 100, torch.full((num_points, 2), 8.)], 1)
    xy = torch.rand(num_points, 2, generator=g) * 60
    bboxes = torch.cat([xy, xy + 10 + torch.rand(num_points, 2, generator=g) * 40], 1)
    pred = InstanceData(priors=priors, bboxes=bboxes, scores=torch.rand(num_points, 2, generator=g))
    gxy = torch.rand(num_gts, 2, generator=g) * 60
    gt = InstanceData(bboxes=torch.cat([gxy, gxy + 10 + torch.rand(num_gts, 2, generator=g) * 40], 1),
                      labels=torch.randint(0, 2, (num_gts,), generator=g))
    assigner = MinCostAssigner()
    cost = assigner.cost(pred, gt, (100, 100)).double()  # (N, M)
    best = min(sum(cost[p, j].item() for j, p in enumerate(perm))
               for perm in itertools.permutations(range(num_points), num_gts))
    result = assigner.assign(pred, gt, img_shape=(100, 100))
    assert sorted((result.gt_inds[result.gt_inds > 0] - 1).tolist()) == list(range(num_gts))
    assert matched_cost(result, cost) == pytest.approx(best, abs=1e-5)
    greedy = MinCostAssigner(settle='greedy').assign(pred, gt, img_shape=(100, 100))
    assert matched_cost(greedy, cost) >= best - 1e-5


@pytest.mark.parametrize('seed', range(4))
def test_restricted_hungarian_equals_the_dense_problem_in_crowds(seed):
    """Solving on each instance's min(M, N) cheapest points gives the dense optimum (the class
    docstring's exchange argument), and greedy costs more in these crowds."""
    pred, gt = crowd(num_gts=40 + 30 * seed, seed=10 + seed, num_classes=2)
    cost = MinCostAssigner().cost(pred, gt, (256, 256))
    restricted = MinCostAssigner(restrict=True).assign(pred, gt, img_shape=(256, 256))
    dense = MinCostAssigner().assign(pred, gt, img_shape=(256, 256))
    greedy = MinCostAssigner(settle='greedy').assign(pred, gt, img_shape=(256, 256))
    assert matched_cost(restricted, cost) == pytest.approx(matched_cost(dense, cost), abs=1e-4)
    assert matched_cost(greedy, cost) > matched_cost(dense, cost) + 1e-3
    for result in (restricted, dense):
        assert sorted((result.gt_inds[result.gt_inds > 0] - 1).tolist()) == list(range(len(gt)))


def test_min_cost_needs_the_image_size_and_handles_empty_images():
    pred, gt = make_instances(ONENET_POINTS, gts=(G,))
    with pytest.raises(ValueError, match='img_shape'):
        MinCostAssigner().assign(pred, gt)
    empty = InstanceData(bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=torch.long))
    assert MinCostAssigner().assign(pred, empty).gt_inds.tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match='all cost weights'):
        MinCostAssigner(class_weight=0, l1_weight=0, giou_weight=0)


@pytest.mark.parametrize('seed', range(3))
def test_min_cost_pruning_is_exact(seed):
    """The GIoU is skipped only where a bound proves a pair cannot be among the cheapest: the
    same candidates and the same assignment as costing every pair."""
    pred, gt = crowd(num_gts=30 + 30 * seed, seed=seed, num_classes=2)
    pruned, full = MinCostAssigner(), MinCostAssigner(prune=False)
    cost = full.cost(pred, gt, (256, 256))  # (N, M), dense
    for k in (1, 8):
        point, instance, key = pruned._cheapest(
            focal_cost(pred.scores, 0.25, 2.0), pred.bboxes, gt,
            torch.tensor([256., 256., 256., 256.]), k)
        assert torch.equal(instance, torch.arange(len(gt)).repeat_interleave(k))
        expected = cost.topk(k, dim=0, largest=False).values.t()  # (M, k)
        got = (-key).view(len(gt), k).sort(dim=1).values
        assert torch.allclose(got, expected, atol=1e-5)
    a = pruned.assign(pred, gt, img_shape=(256, 256))
    b = full.assign(pred, gt, img_shape=(256, 256))
    assert torch.equal(a.gt_inds, b.gt_inds)
    # greedy: one candidate per instance: many run out in this crowd and are costed again,
    # further; the outcome is the same as with long candidate lists
    a = MinCostAssigner(settle='greedy').assign(pred, gt, img_shape=(256, 256))
    short = MinCostAssigner(settle='greedy', num_candidates=1).assign(pred, gt, img_shape=(256, 256))
    long_ = MinCostAssigner(settle='greedy', num_candidates=64).assign(pred, gt, img_shape=(256, 256))
    assert torch.equal(short.gt_inds, a.gt_inds) and torch.equal(long_.gt_inds, a.gt_inds)


# ------------------------------------------------------------------- sparse == dense (ref.)
@pytest.mark.parametrize('seed', range(6))
def test_sparse_candidates_give_the_dense_reference_assignment(seed):
    g = torch.Generator().manual_seed(100 + seed)
    num_gts = int(torch.randint(1, 120, (1,), generator=g))
    pred, gt = crowd(num_gts, seed, num_classes=3)
    # boxes partly outside the image, tiny ones (no point inside), a whole-image one
    gt.bboxes[: num_gts // 10] += torch.randn(num_gts // 10, 4, generator=g) * 80
    gt.bboxes[-1] = torch.tensor([-10., -10., 300., 300.])
    gt.bboxes[0] = torch.tensor([100., 100., 101., 103.])
    gt.bboxes = torch.cat([gt.bboxes[:, :2], torch.maximum(gt.bboxes[:, 2:], gt.bboxes[:, :2])], 1)
    ignore = InstanceData(bboxes=torch.tensor([[0., 0., 30., 50.]]))
    assert [lv.width for lv in grid_layout(pred.priors)] == [32, 16, 8]  # the sparse path runs
    assert grid_layout(make_instances()[0].priors) is None  # hand-made points: dense path
    for radius in (1.5, 2.5, None):
        sparse_pairs = prior_pairs(pred.priors, gt.bboxes, radius, sparse=True)
        dense_pairs = prior_pairs(pred.priors, gt.bboxes, radius, sparse=False)
        assert all(torch.equal(a, b) for a, b in zip(sparse_pairs, dense_pairs))
        for cls, kwargs in ((OneToOneAssigner, {}),
                            (SoftLabelAssigner, dict(epoch=1, max_epochs=3))):
            sparse = cls(center_radius=radius).assign(pred, gt, ignore, **kwargs)
            dense = cls(center_radius=radius, sparse=False).assign(pred, gt, ignore, **kwargs)
            assert torch.equal(sparse.gt_inds, dense.gt_inds)
            assert torch.equal(sparse.max_overlaps, dense.max_overlaps)
            assert torch.equal(sparse.get_extra_property('point_role'),
                               dense.get_extra_property('point_role'))
            if cls is SoftLabelAssigner:
                assert torch.equal(sparse.get_extra_property('soft_targets'),
                                   dense.get_extra_property('soft_targets'))


@pytest.mark.parametrize('sparse', [True, False])
def test_a_batch_in_one_pass_equals_image_by_image(sparse):
    """Images concatenated into one assignment: no pair, conflict or target crosses images."""
    images = [crowd(40, seed=1, num_classes=2), crowd(0, seed=2, num_classes=2),
              crowd(70, seed=3, num_classes=2)]
    preds, gts = [p for p, _ in images], [g for _, g in images]
    ignores = [InstanceData(bboxes=torch.tensor([[0., 0., 60., 60.]])), None,
               InstanceData(bboxes=torch.tensor([[100., 100., 180., 200.]]))]
    for assigner, kwargs in ((OneToOneAssigner(sparse=sparse), {}),
                             (SoftLabelAssigner(sparse=sparse), dict(epoch=2, max_epochs=4))):
        together = assigner.assign_images(preds, gts, ignores, **kwargs)
        for pred, gt, ignore, result in zip(preds, gts, ignores, together):
            alone = assigner.assign(pred, gt, ignore, **kwargs)
            assert torch.equal(result.gt_inds, alone.gt_inds)
            assert torch.equal(result.labels, alone.labels)
            assert torch.equal(result.max_overlaps, alone.max_overlaps)
            for key in ('point_role', 'soft_targets'):
                if key in alone._extra_properties:
                    assert torch.equal(result.get_extra_property(key),
                                       alone.get_extra_property(key))
        assert (together[1].gt_inds <= 0).all() and (together[0].gt_inds > 0).any()


def test_min_cost_batch_in_one_settlement_equals_image_by_image():
    images = [crowd(40, seed=4), crowd(0, seed=5), crowd(70, seed=6)]
    preds, gts = [p for p, _ in images], [g for _, g in images]
    ignores = [None, None, InstanceData(bboxes=torch.tensor([[100., 100., 180., 200.]]))]
    shapes = [(256, 256), (256, 256), (200, 256)]
    together = MinCostAssigner().assign_images(preds, gts, ignores, img_shapes=shapes)
    for pred, gt, ignore, shape, result in zip(preds, gts, ignores, shapes, together):
        alone = MinCostAssigner().assign(pred, gt, ignore, img_shape=shape)
        assert torch.equal(result.gt_inds, alone.gt_inds)
        assert torch.equal(result.max_overlaps, alone.max_overlaps)
    assert sorted(together[2].gt_inds[together[2].gt_inds > 0].tolist()) == list(range(1, 71))
