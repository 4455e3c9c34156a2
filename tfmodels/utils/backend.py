"""The two things `keras.ops` lacks, on the current backend: a gradient and a compiled function.

`keras.ops` has no gradient operator, so (like Keras 3's own GAN examples, which write one
train step per backend) a gradient with respect to an input — the PPGN sampler's
`d objective / d h` — goes through the backend's autodiff: `tf.GradientTape` on TensorFlow,
`jax.value_and_grad` on JAX. The function itself is written with `keras.ops`. Model code calls
these helpers and stays backend-agnostic; this module is the one place that dispatches.
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
    raise ValueError(f"value_and_grad supports the tensorflow and jax backends, not {backend!r}")


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
