"""The plan's immutable IR (pydantic): model, cluster, workload, requirements, strategies; presets and
parameter counts."""
