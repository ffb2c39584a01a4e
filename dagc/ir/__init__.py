"""The typed op-and-communication DAG: node types, the op catalogue (per-rank op templates), and `build`."""
