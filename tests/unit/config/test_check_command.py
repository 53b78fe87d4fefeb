"""`gateway check` on broken configurations prints the expected `path: message` lines.

Each folder under cases/ holds a config.yaml and the exact expected output; `{case_dir}` stands
for the folder's absolute path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.cli import main

CASES = Path(__file__).parent / "cases"
REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_broken_config_lists_every_problem(case: str, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / case
    monkeypatch.chdir(folder)
    status = main(["check", "-c", "config.yaml"])
    expected = (folder / "expected.txt").read_text().replace("{case_dir}", str(folder.resolve()))
    out = capsys.readouterr()
    assert out.out == expected
    assert status == 2
    assert "problem(s)" in out.err
    assert "Traceback" not in out.out + out.err


def test_the_default_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-c", str(REPO / "config.yaml")]) == 0
    assert "OK (5 controller(s), 18 measure(s)" in capsys.readouterr().out


def test_missing_file_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-c", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().out


def test_a_fixed_config_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The problems are the only thing wrong: fixing them makes the same file valid."""
    shutil.copytree(CASES / "bad_modbus_addresses", tmp_path / "case")
    config = tmp_path / "case" / "config.yaml"
    text = config.read_text()
    for bad, good in [('"50001"', '"40001"'), ('"00001", type: FLOAT', '"00001", type: BIT'),
                      ('"40001.16"', '"40001.15"'), ("address: 1,", 'address: "00002",'), ('"40000"', '"40020"')]:
        text = text.replace(bad, good)
    config.write_text(text)
    assert main(["check", "-c", str(config)]) == 0, capsys.readouterr().out


def test_alarms_and_history_are_counted_and_need_no_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "controllers: [{name: S, protocol: simulator, endpoint: local}]\n"
        "measures: [{name: T, controller: S, group: g, address: sine, type: FLOAT}]\n"
        "groups: [{name: g, history: true}]\n"
        "alarms: [{name: High, measure: T, cond1: {op: gt, value: 80}}]\n"
    )
    assert main(["check", "-c", str(config)]) == 0
    captured = capsys.readouterr()
    assert "1 alarm rule(s)" in captured.out and "note:" not in captured.err


def test_rtu_controllers_name_a_serial_port(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "serial_ports: [{name: rs485, device: /dev/ttyO3, baud: 19200, parity: E}]\n"
        "controllers:\n"
        "  - {name: Meter1, protocol: modbus-rtu, endpoint: rs485, args: {unit_id: 1, write_mode: single}}\n"
        "  - {name: Meter2, protocol: modbus-rtu, endpoint: rs232}\n"
        "  - {name: Gate, protocol: modbus-tcp, endpoint: '10.0.0.5:502', args: {framer: rtu}}\n"
    )
    assert main(["check", "-c", str(config)]) == 2
    assert capsys.readouterr().out == "controllers[1].endpoint: 'rs232' is not a name in serial_ports (line 4)\n"


def test_a_file_that_is_not_utf8_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"gateway:\n  name: caf\xe9\n")  # Latin-1, as an old editor saves it
    assert main(["check", "-c", str(path)]) == 2
    out = capsys.readouterr()
    assert "cannot read" in out.out and "utf-8" in out.out
    assert "Traceback" not in out.out + out.err
