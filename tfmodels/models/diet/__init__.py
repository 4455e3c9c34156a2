"""Diet Networks (arXiv:1611.09340): genotype classifiers whose fat first layer is predicted
from per-SNP embeddings by a small auxiliary network, and the plain MLP they are compared to.

Example:
    >>> from tfmodels.data.genotypes import simulate_genotypes
    >>> from tfmodels.models.diet import DietNetwork, compile_diet, feature_embedding
    >>> data = simulate_genotypes(num_snps=500, samples_per_population=8, seed=0)
    >>> train = list(range(0, data.num_samples, 2))
    >>> emb = feature_embedding("histogram", data.genotypes, data.labels, train, 26)
    >>> model = compile_diet(DietNetwork(500, 26, emb.shape[1], embedding=emb))
"""

from tfmodels.models.diet.diet_network import (
    DietFatLayer,
    DietNetwork,
    GenotypeCentering,
    baked_model,
    basic_mlp,
    compile_diet,
    parameter_count,
)
from tfmodels.models.diet.embeddings import (
    EMBEDDINGS,
    class_histogram_embedding,
    feature_embedding,
    random_projection_embedding,
    snp2vec_embedding,
    whiten,
)

__all__ = [
    "DietFatLayer", "DietNetwork", "EMBEDDINGS", "GenotypeCentering", "baked_model", "basic_mlp",
    "class_histogram_embedding", "compile_diet", "feature_embedding", "parameter_count",
    "random_projection_embedding", "snp2vec_embedding", "whiten",
]
