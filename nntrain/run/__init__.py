"""One training run: `fit` (config + data -> a trained network and its figures, in memory) and
`run_training` (fit inside a run folder, its files written safely); `check_data`, every check
`fit` makes before training; `check_config`, the gradient check of a config's network on its
data. The commands that train (run, gradcheck, tune), `nntrain.train`, tune trials and the
estimators' fit import these names, and nothing below them."""

from nntrain.run.fit import FitOptions, Fitted, check_data, fit
from nntrain.run.gradcheck import check_config
from nntrain.run.run_folder import RunSummary, run_training
from nntrain.run.setup import RunData

__all__ = ["FitOptions", "Fitted", "RunData", "RunSummary", "check_config", "check_data", "fit", "run_training"]
