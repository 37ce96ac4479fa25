"""scikit-learn's estimator conventions for junheng's estimators: ``get_params`` / ``set_params``
read the ``__init__`` parameters back from attributes of the same name, and ``repr`` shows the
parameters that differ from their defaults (``IRTModel(model='gpcm', n_quad=41)``)."""

from __future__ import annotations

import inspect

import numpy as np

from junheng.exceptions import ParameterError


class Estimator:
    """Base of the estimators: parameters in ``__init__``, stored unchanged under their own names."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = False) -> dict:
        """The estimator's parameters, name → value (``deep`` is accepted for scikit-learn's API)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> Estimator:
        """Set parameters by name (unknown names are refused); returns the estimator."""
        names = set(self._param_names())
        for name, value in params.items():
            if name not in names:
                raise ParameterError(f"{type(self).__name__} 没有参数 {name!r} / has no parameter {name!r}; "
                                     f"valid: {', '.join(sorted(names))}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for p in sig.parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            value = getattr(self, p.name)
            if p.default is not p.empty and _same(value, p.default):
                continue
            shown.append(f"{p.name}={_short(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _same(a, b) -> bool:
    if hasattr(a, "shape") and not isinstance(a, np.generic):  # arrays, frames: never a default
        return False
    try:
        return bool(a is b or a == b)
    except (ValueError, TypeError):
        return False


def _short(value) -> str:
    """A parameter as repr shows it: frames and arrays by their shape, callables by their name."""
    if hasattr(value, "shape") and not isinstance(value, np.generic):
        return f"<{type(value).__name__} {'×'.join(str(n) for n in value.shape)}>"
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return repr(value)
