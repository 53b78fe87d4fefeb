"""Device Supervisor CSVs: a 1.x set (written here in the style of the 1.x manual) becomes a
configuration; 2.x CSVs written by export-ds come back in, adding to a configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import load_config

DEVICE_CSV = """Device Name,Protocol,IP Address,Port,Slave Address,Polling Interval,Vendor
PLC1,Modbus TCP,127.0.0.1,5020,1,2,Schneider
S7,ISO-on-TCP,127.0.0.1,10102,,1,Siemens
"""
VAR_CSV = """Variable Name,Device Name,Address,Data Type,Read/Write,Decimal,Unit,Description,Group
Temp,PLC1,40001,FLOAT,Read Only,2,C,boiler temperature,fast
Setpoint,PLC1,40011,FLOAT,Read/Write,,C,,fast
Running,S7,DB3.0.1,BIT,Read Only,,,,slow
"""
GROUP_CSV = """Group Name,Upload Interval
fast,5
slow,60
"""
WARN_CSV = """Alarm Name,Device Name,Variable Name,Alarm Level,Condition,Threshold,Alarm Content
HighTemp,PLC1,Temp,4,>,80,too hot
"""


def test_a_1x_csv_set_becomes_a_configuration_that_passes_check(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ds1"
    folder.mkdir()
    for name, text in (("device.csv", DEVICE_CSV), ("var.csv", VAR_CSV), ("group.csv", GROUP_CSV),
                       ("warn.csv", WARN_CSV)):
        (folder / name).write_text(text)
    output = tmp_path / "out" / "config.yaml"
    assert main(["import-ds", str(folder), "-o", str(output)]) == 0
    out = capsys.readouterr().out
    assert "not carried over: device.csv: column 'Vendor' is not understood; ignored" in out
    model = load_config(output).model
    assert [(c.name, c.protocol, c.endpoint, c.sample_period) for c in model.controllers] == [
        ("PLC1", "modbus-tcp", "127.0.0.1:5020", 2.0), ("S7", "s7", "127.0.0.1:10102", 1.0)]
    assert model.controllers[0].args == {"unit_id": 1}
    assert [(m.name, m.access, m.group, m.decimal) for m in model.measures] == [
        ("Temp", "ro", "fast", 2), ("Setpoint", "rw", "fast", None), ("Running", "ro", "slow", None)]
    assert [(g.name, g.upload_interval) for g in model.groups] == [("fast", 5.0), ("slow", 60.0)]
    [alarm] = model.alarms
    assert (alarm.name, alarm.measure, alarm.level, alarm.cond1.op, alarm.cond1.value) == ("HighTemp", "Temp", 4,
                                                                                          "gt", 80.0)


def test_2x_csvs_round_trip_through_export_and_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "controllers: [{name: PLC1, protocol: modbus-tcp, endpoint: '127.0.0.1:502'}]\n"
        "measures: [{name: Temp, controller: PLC1, group: g, address: '40001', type: FLOAT}]\n"
        "groups: [{name: g, upload_interval: 5}]\n"
        "alarms: [{name: High, measure: Temp, level: 3, cond1: {op: gt, value: 80}}]\n")
    csvs = tmp_path / "csv"
    assert main(["export-ds", "-c", str(config), "-o", str(csvs)]) == 0
    measure_csv = csvs / "measure.csv"
    measure_csv.write_text(measure_csv.read_text() + "Level,PLC1,g,periodic,,INT,40021,,,ro,mm,,0\n")
    (csvs / "group.csv").write_text((csvs / "group.csv").read_text() + "slow,60,1,5000\n")
    assert main(["import-ds", str(csvs), "-c", str(config)]) == 0
    model = load_config(config).model
    assert [m.name for m in model.measures] == ["Temp", "Level"]
    assert [(g.name, g.history) for g in model.groups] == [("g", False), ("slow", True)]
    assert [(a.name, a.level, a.cond1.op) for a in model.alarms] == [("High", 3, "gt")]
    before = config.read_text()
    measure_csv.write_text(measure_csv.read_text() + "Bad,PLC9,g,periodic,,INT,40031,,,ro,,,0\n")
    capsys.readouterr()
    assert main(["import-ds", str(csvs), "-c", str(config)]) == 2
    assert "measures[2].controller" in capsys.readouterr().err
    assert config.read_text() == before
