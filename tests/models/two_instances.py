"""Two overlapping instances and seven points whose eq. 2-4 values are worked out by hand."""
import torch
from mmengine.structures import InstanceData

# Two instances of class 0, A = [0, 0, 40, 40] and B = [20, 0, 60, 40] (IoU(A, B) = 1/3).
A = [0., 0., 40., 40.]
B = [20., 0., 60., 40.]
M = [12., 0., 52., 40.]  # IoU(M, A) = 1120/2080 = 7/13, IoU(M, B) = 1280/1920 = 2/3
# point (x, y), predicted box, score p:
POINTS = [
    ((10, 20), A, 0.9),   # 0: in A only.        S_A = 0.9·1 = 0.9
    ((25, 20), A, 0.5),   # 1: in A and B.       S_A = 0.5·1 = 0.5,        S_B = 0.5/3
    ((30, 20), M, 0.8),   # 2: in A and B.       S_A = 0.8·7/13 ≈ 0.431,   S_B = 0.8·2/3 ≈ 0.533
    ((35, 20), B, 0.6),   # 3: in A and B.       S_A = 0.6/3 = 0.2,        S_B = 0.6·1 = 0.6
    ((50, 20), B, 0.7),   # 4: in B only.        S_B = 0.7·1 = 0.7
    ((5, 5), M, 0.4),     # 5: in A only.        S_A = 0.4·7/13 ≈ 0.215
    ((70, 20), B, 0.99),  # 6: outside both: S = 0 although p·IoU(b_6, B) = 0.99
]
# By hand, K = 2. Ranking for A: 0 (.9), 1 (.5), 2 (.431), 5 (.215), 3 (.2) -> certain 0,
# soft {1, 2}. Ranking for B: 4 (.7), 3 (.6), 2 (.533), 1 (.167) -> certain 4, soft {3, 2}.
# Point 2 is a soft anchor of both; S_2B > S_2A, so it goes to B.
# Eq. 3, the max over the soft anchors each instance keeps: A keeps {1} -> t_1 = T·.5/.5 = T;
#        B keeps {3, 2}, max(.6, .8) = .8 -> t_3 = .75 T, t_2 = T.


def make_instances(points=POINTS, gts=(A, B)):
    priors = torch.tensor([[x, y, 8., 8.] for (x, y), _, _ in points])
    pred = InstanceData(priors=priors,
                        bboxes=torch.tensor([box for _, box, _ in points]),
                        scores=torch.tensor([[p] for _, _, p in points]))
    gt = InstanceData(bboxes=torch.tensor(list(gts)), labels=torch.zeros(len(gts), dtype=torch.long))
    return pred, gt
