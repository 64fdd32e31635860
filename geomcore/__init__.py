"""geomcore: the computations behind DiffGeo Lab.

A pure Python library (numpy, scipy, sympy, torch, scikit-learn); it never imports streamlit
or plotly and is meant to be pleasant from a notebook::

    from geomcore.geometry import surfaces, geodesics
    torus = surfaces.get("torus", R=2.0, r=0.8)
    g = geodesics.exp_map(torus, p=(0.3, 0.0), v=(0.2, 1.0))
    g.length, g.status
"""

from geomcore.expr import ExpressionError, FormulaTooComplex, parse_expression

__version__ = "0.1.0"
__all__ = ["ExpressionError", "FormulaTooComplex", "parse_expression", "__version__"]
