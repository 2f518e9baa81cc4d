"""The pipeline's stages: plain functions `stage(ctx, **params, **inputs) -> dict`.

prepare → train → evaluate, complexity → table / figure → report. `pipeline.graph` wires them.
"""
