"""Sub-command groups of the `pipeline` CLI (see pipeline.cli)."""
