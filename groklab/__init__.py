"""groklab: a lab for grokking research. `groklab.run(config)` trains one run; `groklab.load_run(path)` reads it.

Imports are lazy so that `groklab detect/plot/report` start without loading torch.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["RunConfig", "__version__", "evaluate", "load_run", "predict_heights", "run"]


def __getattr__(name: str) -> Any:
    if name in ("run", "load_run", "evaluate", "predict_heights"):
        from groklab import api

        return getattr(api, name)
    if name == "RunConfig":
        from groklab.config import RunConfig

        return RunConfig
    raise AttributeError(f"module 'groklab' has no attribute {name!r}")
