"""FC-DenseNet semantic segmentation (arXiv:1611.09326)."""
