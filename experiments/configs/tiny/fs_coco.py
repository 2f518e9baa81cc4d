# + Feature Shuffle after FPN.
_base_ = './baseline_coco.py'

model = dict(neck=[{{_base_.model.neck}}, {{_base_.feature_shuffle}}])
