"""Natural gradient, K-FAC and friends on toy networks (the Natural-gradient lab).

Modules: :mod:`~geomcore.optim.tasks` (data), :mod:`~geomcore.optim.models` (float64 MLPs and
their reparametrisation), :mod:`~geomcore.optim.fisher` (true/empirical/Monte-Carlo Fisher,
Fisher-vector products, natural gradients, K-FAC factors), :mod:`~geomcore.optim.optimizers`
(``NaturalGradient``, ``KFAC``), :mod:`~geomcore.optim.training` (``compare``) and
:func:`decision_grid`, :func:`trajectory_pca`, :func:`logistic_geometry` ... (numpy data for
the page's pictures, in the private ``_views`` and ``_logistic`` modules)::

    from geomcore.optim import make_task, compare
    histories = compare(make_task("moons"), [2, 16, 16, 2], steps=300)
    {name: h.steps_to_loss(0.1) for name, h in histories.items()}
"""

from geomcore.optim import fisher, models, optimizers, tasks, training
from geomcore.optim._logistic import (
    LogisticGeometry,
    logistic_fisher,
    logistic_geometry,
    logistic_gradient,
    logistic_loss,
)
from geomcore.optim._views import (
    DecisionGrid,
    TrajectoryPCA,
    ViewError,
    decision_grid,
    predict_snapshots,
    prediction_gap,
    trajectory_pca,
)
from geomcore.optim.experiments import (
    ReparametrizationDemo,
    linear_model_floor,
    model_at,
    reparametrization_demo,
)
from geomcore.optim.fisher import (
    FisherError,
    FisherSpectrum,
    fisher_matrix,
    fisher_spectrum,
    fisher_vector_product,
    kfac_factors,
    kfac_matrix,
    natural_gradient,
)
from geomcore.optim.models import mlp, reparametrize
from geomcore.optim.optimizers import KFAC, NaturalGradient
from geomcore.optim.tasks import TASK_NAMES, Task, make_task
from geomcore.optim.training import (
    DEFAULT_OPTIMIZERS,
    TrainingError,
    TrainingHistory,
    check_budget,
    compare,
    single_threaded,
    summary_table,
    training_seconds,
)

__all__ = [
    "ReparametrizationDemo",
    "linear_model_floor",
    "model_at",
    "reparametrization_demo",
    "single_threaded",
    "DEFAULT_OPTIMIZERS",
    "DecisionGrid",
    "KFAC",
    "LogisticGeometry",
    "TASK_NAMES",
    "FisherError",
    "FisherSpectrum",
    "NaturalGradient",
    "Task",
    "TrainingError",
    "TrainingHistory",
    "TrajectoryPCA",
    "ViewError",
    "compare",
    "decision_grid",
    "fisher",
    "fisher_matrix",
    "fisher_spectrum",
    "fisher_vector_product",
    "kfac_factors",
    "kfac_matrix",
    "logistic_fisher",
    "logistic_geometry",
    "logistic_gradient",
    "logistic_loss",
    "make_task",
    "mlp",
    "models",
    "natural_gradient",
    "optimizers",
    "predict_snapshots",
    "prediction_gap",
    "reparametrize",
    "summary_table",
    "tasks",
    "training",
    "training_seconds",
    "check_budget",
    "trajectory_pca",
]

# Hessian / Gauss–Newton / Fisher side by side, and Adam read as a diagonal empirical Fisher.
from geomcore.optim import curvature_views  # noqa: E402
from geomcore.optim.curvature_views import (  # noqa: E402
    AdamFisherView,
    CurvatureComparison,
    adam_fisher_view,
    curvature_comparison,
)

__all__ += [
    "AdamFisherView",
    "CurvatureComparison",
    "adam_fisher_view",
    "curvature_comparison",
    "curvature_views",
]
