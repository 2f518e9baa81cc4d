"""dsla.datasets"""
