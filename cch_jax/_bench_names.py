"""The benchmark's dataset names (standard library only).

:mod:`cch_jax.bench` exports them as ``DATASET_NAMES``; the ``cch bench`` parser reads them from
here, so that building it imports neither :mod:`cch_jax.bench` nor JAX.
"""

DATASET_NAMES = (
    "gaussian",
    "mfh",
    "breast_cancer",
    "digits_quadrants",
    "nutrimouse",
    "mfeat",
    "mnistm_to_mnist",
    "mnist_to_mnistm",
    "fashion_mnist",
    "satellite",
    "letter",
    "vehicle",
    "dna",
    "spam",
    "ionosphere",
    "musk",
    "income",
    "fashion_halves",
    "mnist_bands",
    "fashion_edges",
)
