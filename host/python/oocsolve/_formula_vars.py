"""_formula_vars.py — Python values named in a formula (``levels=lnames``), as patsy's eval_env.

The library takes named values as list literals (ooc_formula_var: "['a', 'b']", "[0, 1.5]").
Every identifier of the formula is looked up in the explicit ``vars`` mapping, then in the
caller's frame (its locals, then its globals: patsy's ``EvalEnvironment.capture(eval_env)``);
list-likes (list, tuple, range, numpy array, pandas Index) whose elements are Python str, int,
float or bool are passed.  The library consults them only where the formula takes a list of
levels, so a name that is also a data column (``x`` beside a local ``x = np.array(...)``) is
harmless.  An explicit value that cannot be written as a literal is a TypeError at once; a
captured one is skipped, and becomes that TypeError only if the formula then needs it (the
library reports it unknown).  Elements are checked by their exact type because patsy names
levels by repr(): numpy scalars (np.int64(1), np.True_) name levels no literal can express.
"""
import ctypes
import re
import sys
from collections import ChainMap

import numpy as np
import pandas as pd

from . import _capi
from .errors import Error

_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_LIST_LIKE = (list, tuple, range, np.ndarray, pd.Index)
_MAX_EXACT_INT = 2 ** 53          # the library holds numeric levels as doubles
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def caller_namespace(eval_env, levels_up):
    """The names visible eval_env frames above the frame levels_up above the caller of this
    function (its locals, then its globals), as patsy's EvalEnvironment.capture."""
    if isinstance(eval_env, bool) or not isinstance(eval_env, int) or eval_env < 0:
        raise TypeError(f"eval_env must be a frame count >= 0, not {eval_env!r}")
    frame = sys._getframe(levels_up + eval_env + 1)
    return ChainMap(frame.f_locals, frame.f_globals)


class FormulaVars:
    """The ooc_formula_var array (``array``, ``count``; kept alive by this object) for the
    identifiers of formula: explicit (a mapping, first) or from namespace.  A context manager
    around the library call: an unknown-variable error for a captured name that was skipped
    becomes the TypeError saying why."""

    def __init__(self, formula, explicit, namespace):
        explicit = dict(explicit or {})
        self._skipped = {}                  # name -> why its value was not passed
        pairs = []
        for name in dict.fromkeys(_IDENTIFIER.findall(formula or "")):
            if name in explicit:
                pairs.append((name, _literal(name, explicit[name])))
            elif name in namespace and isinstance(namespace[name], _LIST_LIKE):
                try:
                    pairs.append((name, _literal(name, namespace[name])))
                except TypeError as why:
                    self._skipped[name] = why
        self._values = [(name.encode(), text.encode()) for name, text in pairs]
        self.count = len(self._values)
        self.array = (_capi.FormulaVar * max(self.count, 1))(*[
            _capi.FormulaVar(name, text) for name, text in self._values])

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, _tb):
        if isinstance(exc, Error) and exc.status == "OOC_ERR_FORMULA":
            for name, why in self._skipped.items():
                if f"unknown formula variable '{name}'" in exc.message:
                    raise why from exc
        return False


def _literal(name, value):
    """value as the library's list literal; TypeError (naming the variable) if it has none."""
    if not isinstance(value, _LIST_LIKE):
        raise TypeError(f"formula variable '{name}' must be a list, tuple, range, numpy array "
                        f"or pandas Index, not {type(value).__name__}")
    return "[" + ", ".join(_element(name, item) for item in value) + "]"


def _element(name, item):
    kind = type(item)
    if kind is bool:
        return repr(item)
    if kind is int and abs(item) <= _MAX_EXACT_INT:
        return repr(item)
    if kind is float and np.isfinite(item):
        return repr(item)
    if isinstance(item, str) and "\0" not in item:
        return "'" + "".join(_ESCAPES.get(ch, ch) for ch in item) + "'"
    raise TypeError(f"formula variable '{name}': the level {item!r} ({kind.__name__}) cannot be "
                    "passed to the formula (levels must be Python str without NUL, finite "
                    "float, bool, or int within 2**53; convert numpy values with .tolist())")
