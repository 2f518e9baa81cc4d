"""dsla.models"""
