"""The pipeline's stages: plain functions `stage(ctx, **params, **inputs) -> StageResult`.

prepare → train → evaluate, complexity → table / figure → report. `pipeline.graph` wires them.
"""
