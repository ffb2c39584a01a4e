"""`dagc fleet`: which cluster to rent — GPU type, count, engine — for a plan's model, traffic and requirements.

Input: a plan with a `fleet { … }` statement (`dagc.lang.fleet`). Output: every cluster of its sweep searched
as `dagc search --rate R` searches it (`cluster`), ranked by cost per million tokens among those meeting
every requirement (`rank`), run in this process, in worker processes or on a Ray cluster (`run`, `ray_run`),
resumable from a results file (`results_file`).
"""
