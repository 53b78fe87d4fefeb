"""The world a user script sees: guarded builtins, guard hooks and module proxies.

Modules are never handed over whole: a proxy carries only the module's public functions,
classes and constants, never its submodules (``json.codecs.open`` would read files).
"""

from __future__ import annotations

import ast
import collections
import logging
import math
import operator
import random
import types
from collections.abc import Callable
from importlib import import_module
from typing import Any

from RestrictedPython.Eval import default_guarded_getiter
from RestrictedPython.Guards import full_write_guard, safe_builtins, safer_getattr_raise
from RestrictedPython.Limits import limited_builtins
from RestrictedPython.Utilities import utility_builtins

from .budget import StepBudget
from .compiler import ALLOWED_MODULES
from .policy import TICK
from .quickfaas import Ask, device_supervisor_modules

_REMOVED_BUILTINS = ("setattr", "delattr", "id", "BaseException", "SystemExit", "KeyboardInterrupt",
                     "GeneratorExit", "__build_class__")
_EXTRA_BUILTINS: dict[str, Any] = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    # range: Python 3's is lazy; RestrictedPython's limited one refuses more than 1000 elements,
    # which real Device Supervisor scripts exceed (the CPU budget bounds loops instead).
    # list, tuple: the types themselves, not RestrictedPython's limited functions, so that
    # isinstance(x, (tuple, list)) works as Device Supervisor scripts expect (the memory cap
    # bounds what they build)
    for name in ("dict", "enumerate", "sorted", "min", "max", "sum", "any", "all", "zip", "map",
                 "filter", "reversed", "next", "iter", "format", "bytes", "bytearray", "range", "list", "tuple")
}
_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
}


def script_globals(logger: logging.Logger, current_api: Callable[[], Any] | None = None,
                   budget: StepBudget | None = None, ask: Ask | None = None) -> dict[str, Any]:
    """Return fresh globals for one script: nothing is shared between scripts.

    ``current_api`` returns the wizard_api of the call running now; the Device Supervisor 2.x
    modules (``quickfaas.*``, ``common.Logger``) act through it and through ``ask``, which asks the
    gateway for this script. ``budget`` is the step budget the compiled script's ``_tick_()`` calls
    spend.
    """
    builtins = {**safe_builtins, **limited_builtins, **_EXTRA_BUILTINS,
                "set": utility_builtins["set"], "frozenset": utility_builtins["frozenset"]}
    for name in _REMOVED_BUILTINS:
        builtins.pop(name, None)
    modules = {name: _module_proxy(name, logger) for name in ALLOWED_MODULES}
    modules.update(device_supervisor_modules(current_api or (lambda: None), ask or _no_gateway,
                                             _logging_proxy(logger).getLogger()))

    def guarded_import(name: str, globals_: Any = None, locals_: Any = None,
                       fromlist: Any = (), level: int = 0) -> Any:
        if level != 0 or name not in modules:
            raise ImportError(f"import of '{name}' is not allowed")
        return modules[name] if fromlist else modules[name.split(".")[0]]  # 'import a.b' binds a

    builtins["__import__"] = guarded_import
    builtins["literal_eval"] = _literal_eval
    builtins["type"] = _type_of
    return {
        "__builtins__": builtins,
        "__name__": "user_script",
        "_getattr_": safer_getattr_raise,
        "_getitem_": operator.getitem,  # what RestrictedPython's default does, without a Python call
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": _unpack_natively,
        "_unpack_sequence_": _unpack_natively,
        "_write_": _write_guard,
        "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
        "_print_": lambda _getattr=None: _LogPrinter(logger),
        TICK: (budget or StepBudget()).tick,
    }


class _LogPrinter:
    """RestrictedPython's print hook: each ``print`` becomes one line in the script's log."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _call_print(self, *objects: Any, **_kwargs: Any) -> None:
        self._logger.info(" ".join(str(o) for o in objects))

    def __call__(self) -> str:
        return ""


# What each allowed module offers scripts, name by name. Never a whole module: through plain
# attributes json.codecs.open reads files and logging.os, re.enum.sys are reachable.
_EXPOSED = {
    "json": ("dumps", "loads", "JSONDecodeError"),
    "time": ("time", "time_ns", "monotonic", "perf_counter", "sleep", "strftime", "strptime", "localtime",
             "gmtime", "mktime", "ctime", "asctime", "timezone", "altzone", "daylight", "tzname", "struct_time"),
    "datetime": ("datetime", "date", "time", "timedelta", "timezone", "MINYEAR", "MAXYEAR"),
    "math": tuple(name for name in dir(math) if not name.startswith("_")),  # functions and constants only
    "re": ("compile", "match", "search", "fullmatch", "findall", "finditer", "split", "sub", "subn", "escape",
           "error", "IGNORECASE", "I", "MULTILINE", "M", "DOTALL", "S", "ASCII", "A", "VERBOSE", "X"),
    "struct": ("pack", "unpack", "pack_into", "unpack_from", "iter_unpack", "calcsize", "error", "Struct"),
    "base64": ("b64encode", "b64decode", "urlsafe_b64encode", "urlsafe_b64decode", "standard_b64encode",
               "standard_b64decode", "b32encode", "b32decode", "b16encode", "b16decode", "encodebytes",
               "decodebytes"),
    "hashlib": ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_512", "blake2b",
                "blake2s", "new"),
    "collections": ("OrderedDict", "defaultdict", "Counter", "deque", "ChainMap", "namedtuple"),
}
_RANDOM_METHODS = ("random", "uniform", "randint", "randrange", "choice", "choices", "shuffle", "sample",
                   "gauss", "normalvariate", "triangular", "getrandbits", "seed")


def _module_proxy(name: str, logger: logging.Logger) -> types.SimpleNamespace:
    if name == "logging":
        return _logging_proxy(logger)
    if name == "random":  # one generator per script: seeding it affects no other script
        generator = random.Random()
        return types.SimpleNamespace(**{method: getattr(generator, method) for method in _RANDOM_METHODS})
    module = import_module(name)
    return types.SimpleNamespace(**{attribute: getattr(module, attribute) for attribute in _EXPOSED[name]})


def _logging_proxy(logger: logging.Logger) -> types.SimpleNamespace:
    """``logging`` for scripts: every call, and every ``getLogger()``, writes to the script's log."""
    calls = {
        "debug": logger.debug, "info": logger.info, "warning": logger.warning, "warn": logger.warning,
        "error": logger.error, "exception": logger.exception, "critical": logger.critical,
    }
    # the level and format are the gateway's (log_level): what scripts set is accepted and has no effect
    script_logger = types.SimpleNamespace(**calls, setLevel=_ignored)
    levels = {n: getattr(logging, n) for n in ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL")}
    return types.SimpleNamespace(**calls, **levels, getLogger=lambda *_args: script_logger, basicConfig=_ignored)


def _ignored(*_args: Any, **_kwargs: Any) -> None:
    return None


def _no_gateway(what: str, _args: dict[str, Any]) -> dict[str, Any]:
    return {"error": f"{what}: no gateway answers this script"}


def _type_of(obj: Any) -> type:
    """``type`` for scripts: the type of one object, for ``type(x) is dict``. Never the three-argument
    form, and never the type of a type: ``type(type(1))`` would hand out ``type`` itself, and
    with it classes made at run time, which scripts may not define."""
    kind = type(obj)
    if issubclass(kind, type):
        raise TypeError("type() of a type is not available in scripts")
    return kind


def _literal_eval(text: Any) -> Any:
    """``eval`` for scripts: literals only (numbers, strings, lists, dicts...), never code."""
    if not isinstance(text, str) or len(text) > 100_000:
        raise ValueError("eval() in scripts takes a literal of at most 100,000 characters")
    return ast.literal_eval(text)


_CONTAINERS = frozenset((dict, list, set, collections.OrderedDict, collections.defaultdict, collections.Counter,
                         collections.deque))


def _write_guard(target: Any) -> Any:
    """Let scripts write into their own containers, ``collections``' ones included (Device Supervisor
    scripts build OrderedDicts); everything else goes through RestrictedPython's full write guard.
    The plain containers are checked here first: a script writes into them once per value."""
    if type(target) in _CONTAINERS:
        return target
    return full_write_guard(target)


def _unpack_natively(iterable: Any, _spec: Any, _getiter: Any) -> Any:
    """Let Python unpack ``for a, b in ...`` and ``a, b = ...`` itself. RestrictedPython's guards
    exist to apply ``_getiter_`` to each unpacked item; iteration is unrestricted here
    (``_getiter_`` hands the object back), so they would only copy every item into a list, and
    ``a, b = endless_iterator`` would never end instead of raising ValueError."""
    return iterable
