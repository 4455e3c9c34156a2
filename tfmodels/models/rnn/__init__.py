"""Quantized RNN cells and layers (arXiv:1608.06902, 1611.07065, 1609.07061)."""
