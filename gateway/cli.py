"""The ``gateway`` command: run, check and demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from gateway import __version__
from gateway.config import LoadedConfig, load_config
from gateway.core.errors import ConfigError, GatewayError
from gateway.runtime.logs import setup_logging
from gateway.scripting.loading import check_scripts

EXIT_INVALID = 2
log = logging.getLogger("gateway")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run a gateway from a configuration")
    run.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    run.add_argument("--log-file", type=Path, help="also log to this file, rotated at 5 MiB (3 kept)")
    run.set_defaults(handler=_run)
    check = commands.add_parser("check", help="validate a configuration and list every problem")
    check.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    check.set_defaults(handler=_check)
    demo = commands.add_parser("demo", help="run the gateway with simulated PLCs and a local broker")
    demo.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    demo.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    demo.set_defaults(handler=_demo)
    certs = commands.add_parser("import-certs", help="use a thing's certificate and key from a bundle zip")
    certs.add_argument("bundle", type=Path, help="zip with one folder per thing holding cert.pem and privkey.pem")
    certs.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    certs.add_argument("--cloud", required=True, help="the cloud in config.yaml that connects as the thing")
    certs.add_argument("--thing", help="which thing, when the bundle holds several")
    certs.set_defaults(handler=_import_certs)
    import_ds = commands.add_parser("import-ds", help="convert a Device Supervisor 2.x .cfg export to config.yaml")
    import_ds.add_argument("file", type=Path, help="a Device Supervisor 2.x .cfg export, a folder with a 1.x CSV set "
                           "(device.csv, var.csv, group.csv, warn.csv), or a folder with 2.x CSVs (with -c)")
    import_ds.add_argument("-c", "--config", type=Path, help="add 2.x CSVs (measure/group/alarm.csv) to this file")
    import_ds.add_argument("-o", "--output", type=Path, default=Path("config.yaml"))
    import_ds.add_argument("--force", action="store_true", help="replace the output file if it exists")
    import_ds.set_defaults(handler=_import_ds)
    export_ds = commands.add_parser("export-ds", help="write Device Supervisor 2.x measure.csv, group.csv, alarm.csv")
    export_ds.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    export_ds.add_argument("-o", "--output", type=Path, default=Path("."), help="the folder to write the CSVs to")
    export_ds.set_defaults(handler=_export_ds)
    passwd = commands.add_parser("passwd", help="set the web UI's administrator password")
    passwd.add_argument("-c", "--config", type=Path, default=Path("config.yaml"))
    passwd.add_argument("--stdin", action="store_true", help="read the password from standard input (scripts)")
    passwd.set_defaults(handler=_passwd)
    script = commands.add_parser("script", help="check or try out a user script").add_subparsers(
        required=True, metavar="ACTION")
    script_check = script.add_parser("check", help="compile under the sandbox policy; list problems with lines")
    script_check.add_argument("file", type=Path)
    script_check.add_argument("--function", help="also require this function")
    script_check.set_defaults(handler=_script_check)
    script_test = script.add_parser("test", help="run a publish, alarm or download function on sample data; "
                                                 "show what it would do")
    script_test.add_argument("file", type=Path)
    script_test.add_argument("--function", required=True)
    source = script_test.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="a JSON file holding data_collect (a group's or an alarm's)")
    source.add_argument("--live", action="store_true", help="read the group from the PLCs now (needs -c)")
    source.add_argument("--topic", help="call a download function with a message on this topic (see --payload)")
    script_test.add_argument("--payload", default="", help="the message --topic carries (text, often JSON)")
    script_test.add_argument("-c", "--config", type=Path,
                             help="the configuration whose PLCs --live reads and whose parameters and labels "
                                  "the script sees")
    script_test.add_argument("--group", help="the group --live reads (default: that of the rule running it)")
    script_test.set_defaults(handler=_script_test)
    return parser


def validated(path: Path) -> LoadedConfig:
    """Load a configuration and compile its scripts; raise ConfigError with every problem."""
    config = load_config(path)
    check_scripts(config)
    return config


def _check(args: argparse.Namespace) -> int:
    try:
        config = validated(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{args.config}: {len(exc.problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    model = config.model
    print(f"{args.config}: OK ({len(model.controllers)} controller(s), {len(model.measures)} measure(s), "
          f"{len(model.groups)} group(s), {len(model.alarms)} alarm rule(s), {len(model.clouds)} cloud(s), "
          f"{len(model.publish)} publish and {len(model.subscribe)} subscribe rule(s)"
          + (f", services: {', '.join(model.services)}" if model.services else "") + ")")
    return 0


def _run(args: argparse.Namespace) -> int:
    config = _load_or_report(args.config)
    if config is None:
        return EXIT_INVALID
    setup_logging(config.model.gateway.log_level, args.log_file)
    from gateway.runtime.service import GatewayService
    from gateway.web import serve_admin_ui

    return _serve(GatewayService(config, front_end=serve_admin_ui).run())


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo
    from gateway.demo.workspace import demo_copy

    if _load_or_report(args.config) is None:  # the committed file itself is checked first
        return EXIT_INVALID
    try:
        path, said = demo_copy(args.config)
    except OSError as exc:
        print(f"error: cannot make the demo's copy of {args.config}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    config = _load_or_report(path)
    if config is None:
        return EXIT_INVALID
    setup_logging(config.model.gateway.log_level)
    logging.getLogger("gateway.demo").info("%s", said)

    return _serve(run_demo(config, args.duration))


def _import_ds(args: argparse.Namespace) -> int:
    from gateway.device_supervisor.migrate import merge_into, read_source, write_migration

    if args.config is not None:
        try:
            report, problems = merge_into(args.file, args.config)
        except GatewayError as exc:
            print(f"error: {exc}; {args.config} was not changed", file=sys.stderr)
            return EXIT_INVALID
        return _import_outcome(report, problems, f"{args.config}: updated (gateway check passes)",
                               f"{args.config}: not changed")
    try:
        migration = write_migration(read_source(args.file), args.output, force=args.force)
    except GatewayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(f"wrote {migration.config_path} and {len(migration.scripts)} script(s) in "
          f"{migration.config_path.parent / 'scripts'}")
    return _import_outcome(migration.report, migration.problems, f"{migration.config_path}: OK (gateway check passes)",
                           f"{migration.config_path}: {len(migration.problems)} problem(s) to fix before it runs")


def _import_outcome(report: list[str], problems: list[str], ok: str, failed: str) -> int:
    """Print what an import could not carry and what gateway check says; return the exit status."""
    for line in report:
        print(f"not carried over: {line}")
    for problem in problems:
        print(f"check: {problem}", file=sys.stderr)
    print(failed if problems else ok, file=sys.stderr if problems else sys.stdout)
    return EXIT_INVALID if problems else 0


def _export_ds(args: argparse.Namespace) -> int:
    from gateway.device_supervisor.csv_export import export_csvs

    config = _load_or_report(args.config)
    if config is None:
        return EXIT_INVALID
    for path in export_csvs(config.model, args.output):
        print(f"wrote {path}")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    import getpass

    from gateway.runtime.passwords import AuthError, PasswordStore

    config = _load_or_report(args.config)
    if config is None:
        return EXIT_INVALID
    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("New administrator password: ")
        if getpass.getpass("Repeat it: ") != password:
            print("error: the two passwords differ; nothing was changed", file=sys.stderr)
            return EXIT_INVALID
    store = PasswordStore(config.resolve(config.model.gateway.data_dir))
    try:
        store.set_password(password)
    except AuthError as exc:
        print(f"error: {exc}; nothing was changed", file=sys.stderr)
        return EXIT_INVALID
    print(f"password set (stored as an scrypt hash in {store.path})")
    return 0


def _import_certs(args: argparse.Namespace) -> int:
    from gateway.cloud.credentials import import_bundle

    try:
        message = import_bundle(args.bundle, args.config, args.cloud, args.thing)
    except ConfigError as exc:
        print(f"{args.config} was not changed:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INVALID
    except GatewayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(message)
    return 0


def _script_check(args: argparse.Namespace) -> int:
    from gateway.scripting.tryout import check_script

    problems = check_script(args.file, args.function)
    for problem in problems:
        print(f"{args.file}: {problem}")
    if not problems:
        print(f"{args.file}: OK")
    return EXIT_INVALID if problems else 0


def _script_test(args: argparse.Namespace) -> int:
    import json

    from gateway.config.identity import global_parameters
    from gateway.core.messages import CallContext
    from gateway.scripting.tryout import Message, test_script

    setup_logging("info")
    try:
        if args.live:
            lines = asyncio.run(_test_live(args))
        else:
            data = Message(args.topic, args.payload) if args.topic is not None else \
                json.loads(args.data.read_text(encoding="utf-8"))
            parameters = global_parameters(validated(args.config).model) if args.config is not None else {}
            context = CallContext("test", "cloud", args.topic or "test/topic", 1, parameters)
            lines = asyncio.run(test_script(args.file, args.function, data, context))
    except ConfigError as exc:
        print(f"{args.config} is not valid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INVALID
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except GatewayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


async def _test_live(args: argparse.Namespace) -> list[str]:
    """Read the group from the PLCs once and run the function on it, in the rule's context."""
    from gateway.rules.live_sample import live_sample
    from gateway.scripting.tryout import test_script

    if args.config is None:
        raise ValueError("--live reads the PLCs of a configuration: add -c config.yaml")
    sample = await live_sample(validated(args.config), args.file, args.function, args.group)
    lines = [f"not read: {problem}" for problem in sample.unread]
    lines.append(f"read group '{sample.data_collect['group_name']}': "
                 f"{sum(len(v) for v in sample.data_collect['values'].values())} value(s)")
    return lines + await test_script(args.file, args.function, sample.data_collect, sample.context, sample.queries)


def _load_or_report(path: Path) -> LoadedConfig | None:
    try:
        return validated(path)
    except ConfigError as exc:
        print(f"{path} is not valid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def _serve(main_coroutine: Coroutine[Any, Any, None]) -> int:
    """Run until done, Ctrl-C or SIGTERM; both signals stop the gateway cleanly."""
    status = 0
    try:
        asyncio.run(_cancel_on_sigterm(main_coroutine))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    except GatewayError as exc:
        log.error("%s", exc)
        status = 1
    return status


async def _cancel_on_sigterm(main_coroutine: Coroutine[Any, Any, None]) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await main_coroutine
