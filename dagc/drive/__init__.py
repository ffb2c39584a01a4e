"""The driver of `dagc check` and `dagc compile`, the library's `dagc.check` and `dagc.compile` too."""
