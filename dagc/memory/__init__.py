"""Per-rank memory of a layout: weights, KV cache, activations from the op catalogue's working sets."""
