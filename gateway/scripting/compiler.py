"""Compile user scripts with RestrictedPython under the gateway's import policy.

Every refusal names the line, so the user can fix the script before it ever runs.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from types import CodeType

from RestrictedPython.compile import compile_restricted_exec

from gateway.core.errors import ScriptCompileError

from .policy import GatewayPolicy

ALLOWED_MODULES = (
    "logging", "json", "time", "datetime", "math", "re", "random", "struct", "base64",
    "hashlib", "collections",
)
SHIM_MODULES = ("quickfaas", "quickfaas.remotebus", "quickfaas.awsiot", "quickfaas.messagebus", "quickfaas.measure",
                "quickfaas.global_dict", "quickfaas.controller", "quickfaas.clouds", "quickfaas.config",
                "quickfaas.global_variables", "quickfaas.file", "quickfaas.LWTSDB",
                "common", "common.Logger")  # Device Supervisor 2.x (see .quickfaas)
SPARKPLUG_HELPERS = frozenset(("publish_node_online", "SparkPlugB_publish_ndata", "node_cmd_handler"))
_HINTS = {
    "requests": "scripts cannot make HTTP requests; the gateway's own settings are not theirs to change",
    "urllib": "scripts cannot make network requests",
    "socket": "scripts cannot open connections; publish through wizard_api",
}
MAX_SOURCE_BYTES = 256 * 1024
MAX_AST_NODES = 50_000


@dataclass(frozen=True)
class CompiledScript:
    """A compiled script and the names of its top-level functions."""

    filename: str
    code: CodeType
    functions: frozenset[str]


def compile_script(source: str, filename: str) -> CompiledScript:
    """Compile ``source`` or raise ScriptCompileError listing every problem with its line."""
    if len(source.encode("utf-8")) > MAX_SOURCE_BYTES:
        raise ScriptCompileError([f"the script is larger than {MAX_SOURCE_BYTES // 1024} KiB"])
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        raise ScriptCompileError([f"line {exc.lineno}: syntax error: {exc.msg}"]) from exc
    problems = _import_problems(tree)
    if sum(1 for _ in ast.walk(tree)) > MAX_AST_NODES:
        raise ScriptCompileError([f"the script is too large to check (more than {MAX_AST_NODES} syntax nodes)"])
    result = compile_restricted_exec(source, filename, policy=GatewayPolicy)
    problems += [_reword(e) for e in result.errors]
    if problems or result.code is None:
        raise ScriptCompileError(problems or ["the script could not be compiled"])
    functions = frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
    return CompiledScript(filename, result.code, functions)


def require_function(script: CompiledScript, name: str) -> None:
    """Raise ScriptCompileError when the script does not define ``name`` at top level."""
    if name not in script.functions:
        defined = ", ".join(sorted(script.functions)) or "none"
        raise ScriptCompileError([f"no function '{name}' in the script (defined: {defined})"])


def _import_problems(tree: ast.Module) -> list[str]:
    problems = []
    allowed = ", ".join(ALLOWED_MODULES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or "."] if node.level == 0 else ["." * node.level]
        else:
            continue
        imported = {alias.name for alias in node.names}
        for name in names:
            if imported & SPARKPLUG_HELPERS:
                problems.append(f"line {node.lineno}: {', '.join(sorted(imported & SPARKPLUG_HELPERS))}: "
                                "Sparkplug B scripts are not supported: a cloud of type sparkplug publishes "
                                "the measures and takes the host's commands itself")
                continue
            if name in SHIM_MODULES or (name in ALLOWED_MODULES and "." not in name):
                continue
            hint = _HINTS.get(name.split(".", 1)[0])
            if name.startswith("quickfaas."):
                hint = f"Device Supervisor modules here: {', '.join(m for m in SHIM_MODULES if '.' in m)}"
            problems.append(f"line {node.lineno}: import of '{name}' is not allowed ("
                            + (hint if hint else f"allowed: {allowed}") + ")")
    return problems


def _reword(error: str) -> str:
    """Turn RestrictedPython's 'Line 3: ...' into our 'line 3: ...'."""
    head, sep, rest = error.partition(": ")
    if head.startswith("Line ") and sep:
        return f"line {head[5:]}: {rest}"
    return error
