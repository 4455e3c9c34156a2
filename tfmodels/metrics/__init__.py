"""Keras metrics: segmentation (mIoU), language (bits per character), speech (WER), segment
boundaries (precision / recall / F1).
"""
