"""Plan → `Layout`: the device mesh (ranks, groups, stage layers, experts) and per-rank shard formulas."""
