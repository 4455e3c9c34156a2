"""Model families: segmentation, rnn, asr, coordinate."""
