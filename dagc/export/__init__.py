"""Exporters: turn results into files and objects people and tools read."""
