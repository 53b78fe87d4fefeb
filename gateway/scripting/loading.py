"""Load the scripts of a configuration's publish rules into a runner."""

from __future__ import annotations

from gateway.config import LoadedConfig
from gateway.errors import ConfigError, Problem, ScriptError

from .runner import ScriptRunner


def load_publish_scripts(config: LoadedConfig, runner: ScriptRunner) -> None:
    """Compile every publish rule's script; raise ConfigError naming each failing rule."""
    problems = []
    for index, rule in enumerate(config.model.publish):
        if not rule.script or not rule.function:
            continue
        try:
            filename, source = config.script_source(rule.script)
            runner.load(rule.name, source, filename, rule.function)
        except ScriptError as exc:
            problems.append(Problem(f"publish[{index}].script", str(exc)))
        except OSError as exc:
            problems.append(Problem(f"publish[{index}].script", f"cannot read: {exc}"))
    if problems:
        raise ConfigError(problems)
