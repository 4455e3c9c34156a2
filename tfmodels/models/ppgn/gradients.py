"""`value_and_grad` for the sampler: the one backend-specific piece of the PPGN code.

`keras.ops` has no gradient operator, so (like Keras 3's own GAN examples, which write one
train step per backend) the sampler's `d objective / d h` goes through the backend's autodiff:
`tf.GradientTape` on TensorFlow, `jax.value_and_grad` on JAX. The objective itself is written
with `keras.ops` and models called with fixed weights.
"""

import keras


def value_and_grad(fn):
    """`fn(h, *args) -> scalar` becomes `g(h, *args) -> (value, d fn / d h)` on the current
    backend (tensorflow or jax)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.value_and_grad(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        def tf_value_and_grad(h, *args):
            h = tf.convert_to_tensor(h)
            with tf.GradientTape() as tape:
                tape.watch(h)
                value = fn(h, *args)
            return value, tape.gradient(value, h)

        return tf_value_and_grad
    raise ValueError(f"the PPGN sampler supports the tensorflow and jax backends, not {backend!r}")


def compile_function(fn):
    """`fn` compiled as one graph on the current backend (`jax.jit`, `tf.function`); weights of
    models it calls are read as constants, so compile again after training them."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.jit(fn)
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, reduce_retracing=True)
    return fn
