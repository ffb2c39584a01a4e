"""Step times → TTFT, TPOT and throughputs of the serving mode (SPEC 7, 11); the DAG-free estimate the search uses."""
