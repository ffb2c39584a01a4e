"""Plan → `Layout`: the device mesh (ranks, groups, stage layers, experts), the work split, per-rank shard
formulas and routing statistics."""
