"""Model families: segmentation, rnn, asr."""
