"""absl command-line entry points: thin wrappers over library functions."""
