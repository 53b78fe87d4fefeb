"""Checks that need more than one section: names, references, addresses, driver args, files.

Every check adds a :class:`Problem` and goes on, so the user sees every problem at once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from gateway.core.errors import AddressError, Problem
from gateway.core.publish_limits import AWS_MAX_SUBSCRIPTIONS, message_problem
from gateway.services.contract import ServedMeasure
from gateway.services.registry import available_services, service_for
from gateway.southbound import AnyDriver, ByteOrder, DataType, Point, available_protocols, driver_for

from .clouds import SPARKPLUG_FORBIDDEN
from .iotgo_rules import id_problem, type_problems
from .schema import Controller, GatewayConfig, IotgoDevice, Measure
from .validation_text import pydantic_problems

_TOPIC_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def check_references(
    config: GatewayConfig, base_dir: Path, invalid_names: Mapping[str, set[str]] | None = None
) -> list[Problem]:
    """Return every cross-section problem of ``config``.

    ``invalid_names`` are names of items that exist but failed validation (already reported):
    references to them are not reported again as unknown.
    """
    known_invalid = invalid_names or {}
    problems: list[Problem] = []
    for section in ("serial_ports", "controllers", "groups", "alarms", "clouds", "publish", "subscribe", "functions"):
        problems += _duplicates(section, [item.name for item in getattr(config, section)])
    problems += _duplicate_measures(config.measures)
    local_buses = [i for i, cloud in enumerate(config.clouds) if cloud.local_bus]
    problems += [Problem(f"clouds[{i}].local_bus", "only one cloud can be the local bus") for i in local_buses[1:]]
    drivers = _check_controllers(config, problems)
    _check_measures(config, drivers, problems, known_invalid)
    _check_rules(config, base_dir, problems, known_invalid)
    _check_functions(config, base_dir, problems, known_invalid)
    problems += _check_services(config)
    problems += _check_sparkplug(config, known_invalid)
    return problems


def measure_point(measure: Measure, controller: Controller) -> Point:
    """Return the driver's view of a measure (the byte order defaults to the controller's)."""
    byte_order = measure.byte_order or controller.args.get("byte_order") or ByteOrder.ABCD
    if type(byte_order) is not ByteOrder:  # a controller's byte_order argument, a string
        byte_order = ByteOrder(byte_order)
    return Point(measure.name, measure.address, measure.type, measure.length, byte_order, measure.encoding)


def served_measures(config: GatewayConfig) -> list[ServedMeasure]:
    """Return the measures as the data services see them: a scaled measure's values are FLOATs,
    a value-mapped one's are names (no type)."""
    served = []
    for m in config.measures:
        kind = m.transform.kind if m.transform is not None else None
        value_type = m.type if kind in (None, "bit_slice") else None if kind == "value_map" else DataType.FLOAT
        served.append(ServedMeasure(m.controller, m.name, value_type, m.length, m.encoding, m.access == "rw",
                                    m.unit, m.desc))
    return served


def _check_sparkplug(config: GatewayConfig, known_invalid: Mapping[str, set[str]]) -> list[Problem]:
    """A Sparkplug cloud's groups exist, and its devices (the controllers) have names Sparkplug
    allows in a topic."""
    problems = []
    groups = {g.name for g in config.groups} | known_invalid.get("groups", set())
    for index, cloud in enumerate(config.clouds):
        if cloud.type != "sparkplug" or cloud.sparkplug is None:
            continue
        path = f"clouds[{index}].sparkplug"
        problems += [Problem(f"{path}.groups", f"unknown group '{g}'") for g in cloud.sparkplug.groups
                     if g not in groups]
        chosen = set(cloud.sparkplug.groups)
        devices = {m.controller for m in config.measures if not chosen or m.group in chosen}
        bad = [name for name in sorted(devices) if set(name) & set(SPARKPLUG_FORBIDDEN)]
        problems += [Problem(path, f"controller '{name}' cannot be a Sparkplug device id: '+', '/' and '#' are "
                                   "not allowed in it") for name in bad]
    return problems


def _check_services(config: GatewayConfig) -> list[Problem]:
    """Check each ``services:`` section with its service's settings model, then against the measures."""
    problems: list[Problem] = []
    measures: list[ServedMeasure] | None = None
    for key, raw in config.services.items():
        path = f"services.{key}"
        if key not in available_services():
            problems.append(Problem(path, f"no such service (available: {', '.join(available_services())})"))
            continue
        service = service_for(key)
        try:
            settings = service.settings_model.model_validate(raw)
        except ValidationError as exc:
            problems += pydantic_problems(exc, prefix=path)
            continue
        measures = measures if measures is not None else served_measures(config)
        problems += [Problem(f"{path}.{problem.path}" if problem.path else path, problem.message)
                     for problem in service.check(settings, measures)]
    return problems


def _duplicates(section: str, names: Iterable[str]) -> list[Problem]:
    """Report each name after its first use as a duplicate."""
    seen: set[str] = set()
    problems = []
    for index, name in enumerate(names):
        if name in seen:
            problems.append(Problem(f"{section}[{index}].name", f"duplicate name '{name}'"))
        seen.add(name)
    return problems


def _duplicate_measures(measures: Sequence[Measure]) -> list[Problem]:
    """Report each measure name used again on the same controller (names are sets per controller:
    no key string or tuple made per measure)."""
    seen: dict[str, set[str]] = {}
    problems = []
    for index, measure in enumerate(measures):
        names = seen.setdefault(measure.controller, set())
        if measure.name in names:
            problems.append(Problem(f"measures[{index}].name", f"duplicate name '{measure.name}'"))
        names.add(measure.name)
    return problems


def _check_controllers(config: GatewayConfig, problems: list[Problem]) -> dict[str, type[AnyDriver]]:
    drivers: dict[str, type[AnyDriver]] = {}
    ports = {p.name for p in config.serial_ports}
    for index, controller in enumerate(config.controllers):
        path = f"controllers[{index}]"
        if controller.protocol not in available_protocols():
            known = ", ".join(sorted(available_protocols()))
            problems.append(Problem(f"{path}.protocol",
                                    f"no driver for '{controller.protocol}' (available: {known})"))
            continue
        driver = driver_for(controller.protocol)
        drivers.setdefault(controller.name, driver)
        if driver.uses_serial_port:
            if controller.endpoint not in ports:
                problems.append(Problem(f"{path}.endpoint",
                                        f"'{controller.endpoint}' is not a name in serial_ports"))
        elif (error := driver.check_endpoint(controller.endpoint)) is not None:
            problems.append(Problem(f"{path}.endpoint", error))
        try:
            driver.args_model.model_validate(controller.args)
        except ValidationError as exc:
            problems += pydantic_problems(exc, prefix=f"{path}.args")
    return drivers


def _check_measures(config: GatewayConfig, drivers: dict[str, type[AnyDriver]], problems: list[Problem],
                    known_invalid: Mapping[str, set[str]]) -> None:
    controllers: dict[str, Controller] = {}
    for item in config.controllers:
        controllers.setdefault(item.name, item)
    groups = {g.name for g in config.groups} | known_invalid.get("groups", set())
    for index, measure in enumerate(config.measures):
        path = f"measures[{index}]"
        if measure.group not in groups:
            problems.append(Problem(f"{path}.group", f"unknown group '{measure.group}'"))
        if measure.type is DataType.STRING and measure.length == 0:
            problems.append(Problem(f"{path}.length", "a STRING needs a length (in characters)"))
            continue
        controller = controllers.get(measure.controller)
        if controller is None:
            if measure.controller not in known_invalid.get("controllers", set()):
                problems.append(Problem(f"{path}.controller", f"unknown controller '{measure.controller}'"))
            continue
        driver = drivers.get(controller.name)
        if driver is None:
            continue
        try:
            args = driver.args_model.model_validate(controller.args)
            driver.check_point(measure_point(measure, controller), args)
        except AddressError as exc:
            problems.append(Problem(f"{path}.address", str(exc)))
        except ValidationError:
            pass  # reported on the controller
    # how often each name that a shadow or an alarm refers to is used: not a count of every name
    referred = {a.measure for a in config.alarms} | {n for c in config.clouds if c.shadow for n in c.shadow.measures}
    by_name = Counter(m.name for m in config.measures if m.name in referred)
    for index, cloud in enumerate(config.clouds):
        if cloud.shadow is None:
            continue
        path = f"clouds[{index}].shadow"
        if not cloud.client_id:
            problems.append(Problem(f"clouds[{index}].client_id", "a shadow needs client_id, the thing name"))
        if cloud.shadow.group is not None and cloud.shadow.group not in groups:
            problems.append(Problem(f"{path}.group", f"unknown group '{cloud.shadow.group}'"))
        for position, name in enumerate(cloud.shadow.measures):
            if by_name[name] == 0:
                problems.append(Problem(f"{path}.measures[{position}]", f"unknown measure '{name}'"))
            elif by_name[name] > 1:
                problems.append(Problem(f"{path}.measures[{position}]",
                                        f"'{name}' exists on several controllers; shadow keys must be unique"))
    for index, cloud in enumerate(config.clouds):
        seen: set[str] = set()
        for position, device in enumerate(cloud.devices):
            path = f"clouds[{index}].devices[{position}]"
            if device.deviceid in seen:
                problems.append(Problem(f"{path}.deviceid", f"device {device.deviceid} is listed twice"))
            seen.add(device.deviceid)
            measures, measure_problems = device_measures(device, config)
            problems += [Problem(f"{path}.{where}", message) for where, message in measure_problems]
            if (wrong_id := id_problem(device.deviceid, device.factory)) is not None:
                problems.append(Problem(f"{path}.deviceid", wrong_id))
            if not measure_problems:
                where = f"{path}.group" if device.group is not None else f"{path}.measures"
                problems += [Problem(where, message) for message in type_problems(device.deviceid, measures)]
    for index, alarm in enumerate(config.alarms):
        candidates = [m for m in config.measures if m.name == alarm.measure
                      and alarm.controller in (None, m.controller)]
        if not candidates and alarm.measure not in known_invalid.get("measures", set()):
            problems.append(Problem(f"alarms[{index}].measure", f"unknown measure '{alarm.measure}'"))
        elif alarm.controller is None and by_name[alarm.measure] > 1:
            problems.append(Problem(f"alarms[{index}].controller",
                                    f"'{alarm.measure}' exists on several controllers; name one"))
        if alarm.combine != "none" and alarm.cond2 is None:
            problems.append(Problem(f"alarms[{index}].cond2", f"combine: {alarm.combine} needs cond2"))


def _check_rules(config: GatewayConfig, base_dir: Path, problems: list[Problem],
                 known_invalid: Mapping[str, set[str]]) -> None:
    clouds = {c.name for c in config.clouds} | known_invalid.get("clouds", set())
    by_name = {c.name: c for c in config.clouds}
    for index, aws in enumerate(config.clouds):
        if aws.type != "aws-iot":
            continue
        count = sum(1 for rule in config.subscribe if rule.cloud == aws.name) + (5 if aws.shadow_enabled else 0)
        if count > AWS_MAX_SUBSCRIPTIONS:
            problems.append(Problem(f"clouds[{index}]", f"{count} subscriptions (subscribe rules, and 5 for the "
                                    f"shadow); AWS IoT allows {AWS_MAX_SUBSCRIPTIONS} per connection"))
    groups = {g.name for g in config.groups} | known_invalid.get("groups", set())
    variables = {"SN", "MAC", "name", *config.gateway.labels}
    for section in ("publish", "subscribe"):
        for index, rule in enumerate(getattr(config, section)):
            path = f"{section}[{index}]"
            if rule.cloud not in clouds:
                problems.append(Problem(f"{path}.cloud", f"unknown cloud '{rule.cloud}'"))
            topic_problems = _topic_problems(f"{path}.topic", rule.topic, variables, section == "publish")
            problems += topic_problems
            cloud = by_name.get(rule.cloud)
            if cloud is not None and cloud.type == "sparkplug":
                problems.append(Problem(f"{path}.cloud", f"cloud '{cloud.name}' is a Sparkplug B edge node: it "
                                        "publishes the measures and takes commands itself; rules are for MQTT"))
            if cloud is not None and cloud.type == "iotgo":
                if section == "subscribe":
                    problems.append(Problem(f"{path}.cloud", f"cloud '{cloud.name}' is iotgo: its apps' changes "
                                            "write the devices' rw measures directly; subscribe rules are for MQTT"))
                elif rule.topic not in {d.deviceid for d in cloud.devices}:
                    problems.append(Problem(f"{path}.topic", f"for iotgo cloud '{cloud.name}' the topic is the "
                                            f"deviceid of one of its devices, not '{rule.topic}'"))
            if cloud is not None and rule.qos > cloud.publish_limits.max_qos:
                problems.append(Problem(f"{path}.qos", f"cloud '{cloud.name}' accepts qos 0 or 1 only"))
            if (cloud is not None and section == "publish" and not topic_problems
                    and not _TOPIC_VARIABLE.search(rule.topic)
                    and (problem := message_problem(cloud.publish_limits, rule.topic, 0, 0))):
                problems.append(Problem(f"{path}.topic", f"cloud '{cloud.name}' would refuse it: {problem}"))
            if rule.script and (error := script_path_error(rule.script, base_dir)):
                problems.append(Problem(f"{path}.script", error))
            if section == "publish" and rule.source == "group":
                for position, group in enumerate(rule.groups):
                    if group not in groups:
                        problems.append(Problem(f"{path}.groups[{position}]", f"unknown group '{group}'"))


def _check_functions(config: GatewayConfig, base_dir: Path, problems: list[Problem],
                     known_invalid: Mapping[str, set[str]]) -> None:
    clouds = {c.name for c in config.clouds} | known_invalid.get("clouds", set())
    sparkplug = {c.name for c in config.clouds if c.type == "sparkplug"}
    for index, function in enumerate(config.functions):
        if function.cloud is not None and function.cloud not in clouds:
            problems.append(Problem(f"functions[{index}].cloud", f"unknown cloud '{function.cloud}'"))
        elif function.cloud in sparkplug:
            problems.append(Problem(f"functions[{index}].cloud", f"cloud '{function.cloud}' is a Sparkplug B edge "
                                    "node: it publishes the measures itself; a function publishes to MQTT clouds"))
        if function.trigger_topic is not None:
            problems += _topic_problems(f"functions[{index}].trigger_topic", function.trigger_topic,
                                        {"SN", "MAC", "name", *config.gateway.labels}, publishing=False)
        if error := script_path_error(function.script, base_dir):
            problems.append(Problem(f"functions[{index}].script", error))


def _topic_problems(path: str, topic: str, variables: set[str], publishing: bool) -> list[Problem]:
    problems = []
    if not topic:
        problems.append(Problem(path, "a topic cannot be empty"))
    if publishing and ("+" in topic or "#" in topic):
        problems.append(Problem(path, f"'{topic}' has a wildcard; publish topics cannot"))
    for name in _TOPIC_VARIABLE.findall(topic):
        if name not in variables:
            known = ", ".join(f"${{{v}}}" for v in sorted(variables))
            problems.append(Problem(path, f"unknown variable ${{{name}}} (known: {known})"))
    return problems


def is_inline_code(script: str) -> bool:
    """Return True when a rule's ``script`` holds code rather than a file name."""
    return "\n" in script


def script_path_error(script: str, base_dir: Path) -> str | None:
    """Return why a script file reference is unusable, or None."""
    if is_inline_code(script):
        return None
    try:
        candidate = (base_dir / script).resolve()
        if not candidate.is_relative_to(base_dir.resolve()):
            return f"'{script}' is outside the configuration's folder"
        if not candidate.is_file():
            return f"script file '{script}' not found (looked in {base_dir})"
    except (OSError, ValueError) as exc:  # a name too long, or holding a NUL, is no file either
        return f"'{script[:80]}' cannot be a script file: {exc.strerror if isinstance(exc, OSError) else exc}"
    return None


def device_measures(device: IotgoDevice, config: GatewayConfig) -> tuple[list[Measure], list[tuple[str, str]]]:
    """Return the measures an IoTgo device carries as params, and ``(field, problem)`` pairs for
    names that match no measure or several (name those as ``controller/measure``)."""
    if device.group is not None:
        if device.group not in {g.name for g in config.groups}:
            return [], [("group", f"unknown group '{device.group}'")]
        return [m for m in config.measures if m.group == device.group], []
    chosen, problems = [], []
    for position, name in enumerate(device.measures):
        controller, _, measure = name.rpartition("/")
        found = [m for m in config.measures if m.name == measure and controller in ("", m.controller)]
        if len(found) == 1:
            chosen.append(found[0])
        elif not found:
            problems.append((f"measures[{position}]", f"unknown measure '{name}'"))
        else:
            problems.append((f"measures[{position}]", f"'{name}' exists on several controllers; write controller/name"))
    return chosen, problems
