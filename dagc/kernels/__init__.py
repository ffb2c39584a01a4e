"""Measured kernel profiles: their file format, interpolation tables, and the profile a GPU's ops are timed with."""
