"""Load the scripts of a configuration's publish and subscribe rules into a runner."""

from __future__ import annotations

from gateway.config import LoadedConfig
from gateway.core.errors import ConfigError, Problem, ScriptError

from .runner import ScriptRunner


def publish_key(rule: str) -> str:
    """Return the runner's name for a publish rule's script."""
    return f"publish:{rule}"


def subscribe_key(rule: str) -> str:
    """Return the runner's name for a subscribe rule's script."""
    return f"subscribe:{rule}"


def function_key(name: str) -> str:
    """Return the runner's name for a custom function's script."""
    return f"function:{name}"


def load_rule_scripts(config: LoadedConfig, runner: ScriptRunner) -> None:
    """Compile every rule's and custom function's script; raise ConfigError naming each failing one."""
    wanted = [(f"publish[{i}].script", publish_key(r.name), r.script, r.function)
              for i, r in enumerate(config.model.publish)]
    wanted += [(f"subscribe[{i}].script", subscribe_key(r.name), r.script, r.function)
               for i, r in enumerate(config.model.subscribe)]
    wanted += [(f"functions[{i}].script", function_key(f.name), f.script, f.function)
               for i, f in enumerate(config.model.functions)]
    problems = []
    for path, key, script, function in wanted:
        if not script or not function:
            continue
        try:
            filename, source = config.script_source(script)
            runner.load(key, source, filename, function)
        except ScriptError as exc:
            problems.append(Problem(path, str(exc)))
        except OSError as exc:
            problems.append(Problem(path, f"cannot read: {exc}"))
    if problems:
        raise ConfigError(problems)


def check_scripts(config: LoadedConfig) -> None:
    """Compile every script of ``config`` as ``gateway check`` does; raise ConfigError naming each failing one."""
    load_rule_scripts(config, ScriptRunner(send_now=lambda *_: False))
