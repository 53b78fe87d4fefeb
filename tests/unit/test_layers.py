"""Every import points down the stack (docs/architecture.md draws it).

The folders of ``gateway/`` are the stages of the design; this test reads each module's imports
(those inside functions too) and fails when one reaches a higher layer, or a sibling of its own
layer: siblings are independent, and only the layer above wires them together.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# From the top down. A module may import its own package and anything in a lower layer.
LAYERS: list[tuple[str, set[str]]] = [
    ("python -m gateway", {"gateway.__main__"}),
    ("the command line", {"gateway.cli"}),
    ("the demo", {"gateway.demo"}),
    ("the web UI", {"gateway.web"}),
    ("runtime", {"gateway.runtime"}),
    ("stages that use the parts", {"gateway.rules", "gateway.cloud", "gateway.alarms", "gateway.device_supervisor"}),
    ("parts", {"gateway.collect", "gateway.store", "gateway.scripting"}),
    ("configuration", {"gateway.config"}),
    ("data service contract", {"gateway.services"}),
    ("southbound contract", {"gateway.southbound"}),
    ("core", {"gateway.core", "gateway"}),
]
DRIVERS_MAY_IMPORT = ("gateway.southbound", "gateway.services", "gateway.core")


def _unit(module: str) -> str:
    """The package (or top-level module) a module belongs to, as named in LAYERS."""
    names = {name for _, layer in LAYERS for name in layer}
    parts = module.split(".")
    for length in range(len(parts), 0, -1):
        if ".".join(parts[:length]) in names:
            return ".".join(parts[:length])
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS (and to docs/architecture.md)")


def _rank(unit: str) -> int:
    return next(index for index, (_, layer) in enumerate(LAYERS) if unit in layer)


def _module_name(path: Path, root: Path, package: str) -> str:
    relative = path.relative_to(root).with_suffix("")
    parts = [package, *relative.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Yield (line, imported module) for every import in ``source``, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # "from gateway.store import outbox" imports gateway.store.outbox; "... import Outbox", gateway.store
            for name in dict.fromkeys(f"{target}.{alias.name}" if _existing(f"{target}.{alias.name}") else target
                                      for alias in node.names):
                yield node.lineno, name


Source = tuple[str, str, str, bool]  # where (for the message), module name, text, is a package


def _sources(folder: str, package: str) -> list[Source]:
    root = REPO / folder
    return [(str(path.relative_to(REPO)), _module_name(path, root, package), path.read_text(),
             path.name == "__init__.py") for path in sorted(root.rglob("*.py"))]


def _existing(module: str) -> bool:
    """Whether ``module`` names a module or package of ours (not an attribute in a from-import)."""
    top, _, rest = module.partition(".")
    folder = {"gateway": "gateway", "gateway_plugins": "plugins"}.get(top)
    if folder is None:
        return False
    path = REPO / folder / rest.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists() or not rest


def layer_violations(sources: list[Source]) -> list[str]:
    """Return every import that points up the stack or sideways, one line each."""
    found = []
    for where, module, text, is_package in sources:
        unit = _unit(module)
        for line, target in _imports(text, module, is_package):
            if not target.startswith("gateway.") or not _existing(target):
                continue
            other = _unit(target)
            if other in (unit, "gateway") or _rank(other) > _rank(unit):
                continue
            found.append(f"{where}:{line}: {module} ({LAYERS[_rank(unit)][0]}) imports "
                         f"{target} ({LAYERS[_rank(other)][0]})")
    return found


def test_every_import_in_the_gateway_points_down_the_stack() -> None:
    assert layer_violations(_sources("gateway", "gateway")) == []


def test_drivers_depend_only_on_the_southbound_contract_and_the_core() -> None:
    found = [f"{where}:{line}: {target}"
             for where, module, text, is_package in _sources("plugins", "gateway_plugins")
             for line, target in _imports(text, module, is_package)
             if target.startswith("gateway.") and _existing(target) and not target.startswith(DRIVERS_MAY_IMPORT)]
    assert found == []


@pytest.mark.parametrize(("source", "expected"), [
    ("from gateway.runtime.app import Gateway\n", "imports gateway.runtime.app (runtime)"),
    ("from gateway.store import outbox\n", "imports gateway.store.outbox (parts)"),
    ("from ..rules import uploader\n", "imports gateway.rules.uploader (stages that use the parts)"),
    ("def later() -> None:\n    from gateway.web import server\n", "imports gateway.web.server (the web UI)"),
])
def test_the_check_catches_an_import_up_or_sideways(source: str, expected: str) -> None:
    probe = ("gateway/collect/probe.py", "gateway.collect.probe", source, False)
    assert layer_violations([probe]) == [f"gateway/collect/probe.py:{source.count(chr(10))}: "
                                         f"gateway.collect.probe (parts) {expected}"]


def test_the_check_lets_a_module_import_its_own_package_and_lower_layers() -> None:
    probe = ("gateway/rules/probe.py", "gateway.rules.probe",
             "from gateway.core.messages import OutgoingMessage\nfrom gateway.store import Outbox\n"
             "from . import uploader\nfrom gateway.config import LoadedConfig\n", False)
    assert layer_violations([probe]) == []


def test_gateway_passwd_loads_no_web_module(tmp_path: Path) -> None:
    """Setting the password from the shell needs the password store only, not the web server's
    routes (which it used to load, with the whole service and gateway behind them)."""
    config = tmp_path / "config.yaml"
    config.write_text((REPO / "config.yaml").read_text())
    shutil.copytree(REPO / "scripts", tmp_path / "scripts")
    probe = ("import runpy, sys\nsys.argv = ['gateway', 'passwd', '-c', sys.argv[1], '--stdin']\n"
             "try:\n    runpy.run_module('gateway', run_name='__main__')\nexcept SystemExit as end:\n"
             "    assert not end.code, end.code\n"
             "print(sorted(m for m in sys.modules if m.startswith(('gateway.web', 'gateway.runtime.app'))))\n")
    done = subprocess.run([sys.executable, "-c", probe, str(config)], input="from the shell 123\n",
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "password set" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"


# The web layer reads the gateway through gateway.web.backend.AdminBackend (mypy holds every route
# to its members); it never imports the parts that hold the running state.
HIDDEN_FROM_THE_WEB = ("gateway.runtime.app", "gateway.runtime.service", "gateway.collect", "gateway.scripting.runner",
                       "gateway.cloud.connector", "gateway.cloud.mqtt", "gateway.cloud.iotgo", "gateway.alarms")


def test_the_web_layer_reaches_the_gateway_only_through_its_backend_interface() -> None:
    found = [f"{where}:{line}: {target}"
             for where, module, text, is_package in _sources("gateway", "gateway") if module.startswith("gateway.web")
             for line, target in _imports(text, module, is_package) if target.startswith(HIDDEN_FROM_THE_WEB)]
    assert found == []
