"""Dataset readers, generators and tf.data pipelines (TensorFlow allowed here)."""
