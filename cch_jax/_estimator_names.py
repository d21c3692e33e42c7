"""The registered MI estimators' names by kind (standard library only).

:mod:`cch_jax.mi`'s registry checks at import that it registers exactly these names; the ``cch``
parsers read them from here, so that building them (``cch --help``) imports neither
:mod:`cch_jax.mi` nor JAX.
"""

# I(X; Y) of two continuous arrays, in registry order.
PAIR = ("ksg", "mine", "latent")
# I(H; Y) of a representation and integer class labels, in registry order.
LABELS = ("ross", "probe")
