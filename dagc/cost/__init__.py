"""Op and collective durations from the kernel profiles and the network (SPEC 6)."""
