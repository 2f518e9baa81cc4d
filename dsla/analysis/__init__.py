"""Analysis tools: deployment conversion (DSLA -> baseline) and params/FLOPs (Table 5)."""
