# What turns a baseline config into DSLA: the head (paper defaults K = 6, T^max = 0.6,
# T^min = 0.4; λ_o2o = λ_SLA = 1; soft anchors weighted 1 in eq. 5 as printed, O2F uses 0.4;
# the SLA subnet's Ω_j a centre square of 1.5 strides) and the hook that gives it the epoch for
# eq. 4. The O2O subnet keeps the baseline's OneNet assigner and losses.
# experiments/compose.py merges it into the model: model.bbox_head updated with dsla_head.
dsla_head = dict(
    type='DSLAHead', num_soft_anchors=6, t_max=0.6, t_min=0.4, lambda_o2o=1.0, lambda_sla=1.0,
    soft_anchor_weight=1.0, center_radius=1.5)
custom_hooks = [dict(type='SoftLabelScheduleHook')]
