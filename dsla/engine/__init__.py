"""dsla.engine"""
