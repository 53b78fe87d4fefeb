"""User scripts: restricted compile, sandbox globals, wizard_api, and the runner boundary."""

from .compiler import ALLOWED_MODULES, CompiledScript, compile_script, require_function
from .runner import CallOutcome, ScriptRunner
from .wizard_api import encode_payload

__all__ = [
    "ALLOWED_MODULES",
    "CallOutcome",
    "CompiledScript",
    "ScriptRunner",
    "compile_script",
    "encode_payload",
    "require_function",
]
