"""dsla.evaluation"""
