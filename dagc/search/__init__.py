"""The strategy search: the space, branch and bound on numpy columns, worker processes, ranking and the Pareto front."""
