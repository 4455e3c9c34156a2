"""Keras metrics: segmentation (mIoU), language (bits per character), speech (WER)."""
