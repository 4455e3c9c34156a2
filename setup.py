"""Packaging for tfmodels. `pip install -e .[dev]` is what the Makefile's set-up runs."""

from setuptools import find_packages, setup

setup(
    name="tfmodels",
    version="0.1.0",
    description=(
        "Keras 3 models (FC-DenseNet, quantized RNNs, noise-robust ASR) trained "
        "quantization-aware and exported to int8 TFLite and TF Serving."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tfmodels", "tfmodels.*"]),
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.13,<4",
        "numpy>=1.26,<3",
        "absl-py>=2.1,<3",
        "ai-edge-litert>=2.3,<3",
        "tensorflow-serving-api>=2.21,<2.22",
        "pillow>=10,<14",
        "scikit-learn>=1.4,<2",
        "scipy>=1.10,<2",
        "threadpoolctl>=3,<4",
        # tfmodels.diagnostics draws the probe figures.
        "matplotlib>=3.8,<4",
        # keras.callbacks.TensorBoard needs it; TensorFlow 2.21 no longer pulls it in.
        "tensorboard>=2.21,<2.22",
        # tfmodels.data.genotypes reads PLINK .bed/.bim/.fam files through it.
        "bed-reader>=1.0,<2",
    ],
    extras_require={
        "jax": ["jax[cpu]>=0.6"],
        "gpu": ["tensorflow[and-cuda]>=2.21,<2.22"],
        # pytest-xdist: `make test` spreads each backend's run over every core.
        "dev": ["pytest>=8", "pytest-xdist>=3.5,<4", "jax[cpu]>=0.6"],
        # The default picture of `tfmodels-train --task=coordinate` (the Mona Lisa, MIT).
        "coordinate": ["mvtb-data>=1.6,<2"],
    },
    entry_points={
        "console_scripts": [
            "tfmodels-train=tfmodels.cli.train:run",
            "tfmodels-export=tfmodels.cli.export:run",
            "tfmodels-data=tfmodels.cli.data:run",
        ]
    },
)
