# The baseline with the paper's eq. 2 matching for its O2O subnet instead of OneNet's: per
# instance the point of highest p x IoU inside the 1.5-stride centre region (OneToOneAssigner),
# with OneNet's losses unchanged. Not a row of any table: a side measurement of how much of the
# tiny baseline's deficit is the missing spatial prior (README, "Measured so far"):
#     pipeline train experiments/configs/tiny/baseline_eq2_crowdhuman.py --seed S
_base_ = ['./baseline_crowdhuman.py']

model = dict(bbox_head=dict(assigner=dict(_delete_=True, type='OneToOneAssigner', center_radius=1.5)))
