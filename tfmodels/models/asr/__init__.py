"""Noise-robust acoustic models (arXiv:1612.01928)."""
