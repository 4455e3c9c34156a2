"""Model families: segmentation, rnn, asr, qnn, coordinate, diet."""
