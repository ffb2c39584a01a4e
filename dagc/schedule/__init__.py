"""DAG + costs → start/finish of every node, critical paths, step times (SPEC 7)."""
