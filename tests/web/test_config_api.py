"""The REST API behind the pages: measures at scale, CSV in Device Supervisor's format, scripts,
certificates, configuration files, and what happens when a saved configuration cannot run."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import yaml
from aiohttp import FormData

from gateway.config import load_config
from gateway.device_supervisor.measure_csv import COLUMNS
from tests.integration.gateway_harness import running_service, write_config
from tests.tls_certs import issue, make_ca
from tests.web.conftest import Client, WebGateway


async def test_ten_thousand_measures_page_filter_and_sort_on_the_server(tmp_path: Path) -> None:
    from tests.conftest import free_port

    port = free_port()
    measures = [{"name": f"M{i:05d}", "controller": "Sim", "group": "g", "address": "sine", "type": "FLOAT"}
                for i in range(10_000)]
    path = write_config(tmp_path, {
        "gateway": {"data_dir": "./state", "web": {"host": "127.0.0.1", "port": port, "tls": False}},
        "controllers": [{"name": "Sim", "protocol": "simulator", "endpoint": "local", "sample_period": 0.5}],
        "measures": measures, "groups": [{"name": "g", "upload_interval": 5}]})
    async with running_service(path) as service:
        client = Client(f"http://127.0.0.1:{port}")
        try:
            await client.call("POST", "/auth/setup", {"code": service.passwords.setup_code(),
                                                      "password": "ten thousand rows"})
            started = time.perf_counter()
            status, page = await client.call("GET", "/measures?offset=9900&limit=100&sort=name&order=asc")
            elapsed = time.perf_counter() - started
            assert status == 200 and page["total"] == 10_000 and len(page["items"]) == 100
            assert page["items"][0]["name"] == "M09900" and page["items"][-1]["name"] == "M09999"
            status, page = await client.call("GET", "/measures?filter=m0999&sort=name&order=desc&limit=5")
            assert [i["name"] for i in page["items"]] == ["M09999", "M09998", "M09997", "M09996", "M09995"]
            assert page["total"] == 10
            status, answer = await client.call("GET", "/measures?limit=5000")
            assert status == 400 and "limit" in answer["error"]
            assert elapsed < 5, f"one page of 10,000 measures took {elapsed:.2f} s"
        finally:
            await client.close()


async def test_measure_csv_round_trip_and_a_bad_row_reported_with_nothing_applied(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    try:
        async with client.http.get(web_gateway.url + "/api/v1/measures/export.csv") as response:
            exported = await response.text()
        header, *rows = exported.splitlines()
        assert header.split(",") == list(COLUMNS) and len(rows) == 2
        good = ("MeasuringPointName,ControllerName,GroupName,UploadType,DataType,Address,ReadWrite,Unit,"
                "Transform Type,Gain,Offset\n"
                "Level,PLC1,default,periodic,INT,40021,ro,mm,2,0.1,5\n"
                "Temp,PLC1,default,onChange,FLOAT,40001,ro,K,0,,\n")
        status, answer = await client.call("POST", "/measures/import", data=good.encode(),
                                           headers={"Content-Type": "text/csv"})
        assert status == 200 and answer == {"imported": 2, "measures": 3}
        model = load_config(web_gateway.config_path).model
        level = next(m for m in model.measures if m.name == "Level")
        assert level.transform is not None and level.transform.model_dump() == {"kind": "gain_offset", "gain": 0.1,
                                                                                 "offset": 5.0}
        assert next(m for m in model.measures if m.name == "Temp").unit == "K"  # replaced, not duplicated
        before = web_gateway.config_path.read_text()
        bad = ("MeasuringPointName,ControllerName,GroupName,DataType,Address\n"
               "A,PLC1,default,FLOAT,40031\nB,PLC1,default,REAL,40033\nC,PLC9,default,FLOAT,40035\n"
               "D,PLC1,default,FLOAT,4x0037\n")
        status, answer = await client.call("POST", "/measures/import", data=bad.encode(),
                                           headers={"Content-Type": "text/csv"})
        assert status == 422 and answer["error"].startswith("nothing was imported")
        assert answer["errors"][0].startswith("row 3: DataType:")
        status, answer = await client.call("POST", "/measures/import",
                                           data=bad.replace("REAL", "FLOAT").encode(),
                                           headers={"Content-Type": "text/csv"})
        assert status == 422
        assert any(e.startswith("row 4: ControllerName:") for e in answer["errors"]), answer["errors"]
        assert any(e.startswith("row 5: Address:") for e in answer["errors"]), answer["errors"]
        assert web_gateway.config_path.read_text() == before
    finally:
        await client.close()


async def test_script_test_run_uses_the_current_values_and_sends_nothing(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    try:
        source = "def main(data, api):\n    v = data['values']['PLC1']\n    return {'t': v['Temp']['raw_data']}\n"
        status, answer = await client.call("POST", "/scripts/test", {"source": source, "function": "main"})
        assert status == 200 and answer["error"] is None
        assert answer["lines"][0].startswith('publish (stored, then sent) -> test/topic qos 1: {"t": ')
        download = ("import json\nfrom quickfaas.measure import write_plc_values\n"
                    "def main(topic, payload):\n    write_plc_values(json.loads(payload))\n")
        status, answer = await client.call("POST", "/scripts/test", {
            "source": download, "function": "main", "topic": "cmd/sp", "payload": '{"Setpoint": 42}'})
        assert (status, answer["error"], answer["lines"]) == (200, None, ['write_plc_values: {"Setpoint": 42}'])
        assert answer["data"] == {"topic": "cmd/sp", "payload": '{"Setpoint": 42}'}
        alarm = "def main(message, cloudName):\n    return [message['name'], message['status'], message['content']]\n"
        status, answer = await client.call("POST", "/scripts/test", {"source": alarm, "function": "main",
                                                                      "alarm": "TempAlive"})
        assert answer["lines"] == ['publish (stored, then sent) -> test/topic qos 1: '
                                   '["TempAlive", 1, "the temperature is read"]']
        assert answer["data"]["values"]["TempAlive"]["current"] == "on"
        status, answer = await client.call("POST", "/scripts/test", {"source": alarm, "function": "main",
                                                                      "alarm": "Nope"})
        assert (status, answer["error"]) == (400, "no alarm rule 'Nope'")
        # what the script prints and logs comes back with the result; its failure is not the gateway's ERROR
        talky = ("import logging\ndef main(data, api):\n    print('looking at', len(data['values']), 'controller(s)')\n"
                 "    logging.getLogger('mine').warning('about to fail')\n    return 1 / 0\n")
        status, answer = await client.call("POST", "/scripts/test", {"source": talky, "function": "main"})
        assert status == 200 and "ZeroDivisionError" in answer["error"]
        assert answer["output"][:2] == ["INFO looking at 1 controller(s)", "WARNING about to fail"]
        _, logged = await client.call("GET", "/logs?level=DEBUG")
        assert not [line for line in logged if "about to fail" in line["message"] or "ZeroDivision" in line["message"]]
        status, answer = await client.call("POST", "/scripts/check", {"source": "import os\n", "function": "main"})
        assert answer["problems"] == ["line 1: import of 'os' is not allowed (allowed: logging, json, time, datetime, "
                                      "math, re, random, struct, base64, hashlib, collections)"]
        status, answer = await client.call("PUT", "/scripts/files/upload.py", {"source": "def other(d, a):\n  pass\n"})
        assert status == 422 and "no function 'upload'" in str(answer["problems"])  # its rule needs upload()
        assert "def upload" in (web_gateway.config_path.parent / "scripts" / "upload.py").read_text()
    finally:
        await client.close()


async def test_certificate_upload_checks_the_pair_and_hides_the_key(web_gateway: WebGateway, tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "ca")
    device, other = issue(ca, tmp_path, "device"), issue(ca, tmp_path, "other")
    client = await web_gateway.logged_in()
    try:
        form = FormData()
        form.add_field("cert", device.cert_path.read_bytes(), filename="../../cert.pem")
        form.add_field("key", other.key_path.read_bytes(), filename="key.pem")
        status, answer = await client.call("POST", "/clouds/default/certificates", data=form)
        assert status == 400 and answer["error"] == "the key does not belong to the certificate"
        form = FormData()
        form.add_field("cert", device.cert_path.read_bytes(), filename="../../cert.pem")
        form.add_field("key", device.key_path.read_bytes(), filename="key.pem")
        form.add_field("root_ca", ca.cert_path.read_bytes(), filename="ca.pem")
        status, answer = await client.call("POST", "/clouds/default/certificates", data=form)
        assert status == 200, answer
        cloud = load_config(web_gateway.config_path).model.clouds[0]
        key = web_gateway.config_path.parent / str(cloud.key)
        assert key.read_bytes() == device.key_path.read_bytes() and stat.S_IMODE(key.stat().st_mode) == 0o600
        assert key.is_relative_to(web_gateway.config_path.parent / "state" / "certs")
        _, shown = await client.call("GET", "/config/clouds")
        assert "PRIVATE KEY" not in str(shown)
    finally:
        await client.close()


async def test_config_export_import_and_a_configuration_that_cannot_start_is_rolled_back(
    web_gateway: WebGateway,
) -> None:
    client = await web_gateway.logged_in()
    try:
        async with client.http.get(web_gateway.url + "/api/v1/config/export.yaml") as response:
            exported = await response.text()
        assert "********" in exported and "broker-secret-1" not in exported
        changed = yaml.safe_load(exported)
        changed["groups"][0]["upload_interval"] = 2.5
        status, answer = await client.call("POST", "/config/import", data=yaml.safe_dump(changed).encode(),
                                           headers={"Content-Type": "application/yaml"})
        assert status == 200, answer
        text = web_gateway.config_path.read_text()
        assert "upload_interval: 2.5" in text and "broker-secret-1" in text  # the hidden password was kept
        gateway = dict(changed["gateway"], data_dir="config.yaml")  # a file: the outbox cannot open there
        status, answer = await client.call("PUT", "/config/gateway", gateway)
        assert status == 400 and "the previous configuration was restored" in answer["error"]
        assert load_config(web_gateway.config_path).model.gateway.data_dir == "./state"
        status, answer = await client.call("GET", "/status")
        assert status == 200 and answer["running"] is True
    finally:
        await client.close()


async def test_a_thing_bundle_zip_configures_the_cloud(web_gateway: WebGateway, tmp_path: Path) -> None:
    import io
    import zipfile

    ca = make_ca(tmp_path, "ca")
    thing = issue(ca, tmp_path, "pump-7")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("pump-7/cert.pem", thing.cert_path.read_bytes())
        bundle.writestr("pump-7/privkey.pem", thing.key_path.read_bytes())
    client = await web_gateway.logged_in()
    try:
        form = FormData()
        form.add_field("bundle", archive.getvalue(), filename="things.zip", content_type="application/zip")
        status, answer = await client.call("POST", "/clouds/default/bundle", data=form)
        assert status == 200, answer
        assert answer["message"].startswith("pump-7: certificate and key saved")
        cloud = load_config(web_gateway.config_path).model.clouds[0]
        assert cloud.client_id == "pump-7" and str(cloud.key).endswith("pump-7/privkey.pem")
        form = FormData()
        form.add_field("bundle", b"not a zip", filename="x.zip")
        status, answer = await client.call("POST", "/clouds/default/bundle", data=form)
        assert status == 400 and "is not a readable zip file" in answer["error"]
    finally:
        await client.close()


async def test_history_of_a_group_is_recorded_charted_and_exported(web_gateway: WebGateway) -> None:
    import asyncio
    import csv
    import io

    client = await web_gateway.logged_in()
    try:
        for _ in range(50):
            status, answer = await client.call("GET", "/history?controller=PLC1&measure=Temp&points=10")
            if status == 200 and sum(b[4] for b in answer["buckets"]) >= 5:
                break
            await asyncio.sleep(0.2)
        assert answer["width"] == 360 and sum(b[4] for b in answer["buckets"]) >= 5
        _, measures = await client.call("GET", "/history/measures")
        temp = next(m for m in measures if (m["controller"], m["measure"]) == ("PLC1", "Temp"))
        assert temp["group"] == "default" and temp["unit"] == "C"
        assert time.time() - 120 < temp["first"] <= time.time()  # the chart opens on the window holding the data
        async with client.http.get(web_gateway.url + "/api/v1/history/export.csv?controller=PLC1&measure=Temp") as r:
            rows = list(csv.DictReader(io.StringIO(await r.text())))
            assert r.headers["Content-Disposition"] == 'attachment; filename="history-PLC1-Temp.csv"'
        assert len(rows) >= 5 and rows[0]["measure"] == "Temp" and float(rows[0]["value"]) > 0
        stats = (await client.call("GET", "/statistics?controller=PLC1&measure=Temp"))[1]
        assert stats["5min"]["count"] >= 5 and stats["5min"]["min"] <= stats["5min"]["avg"] <= stats["5min"]["max"]
        status, answer = await client.call("GET", "/history?controller=PLC1&measure=Temp&start=10&end=5")
        assert status == 400 and "start < end" in answer["error"]
    finally:
        await client.close()


async def test_a_device_supervisor_export_replaces_the_configuration_from_the_ui(
    web_gateway: WebGateway, tmp_path: Path
) -> None:
    import json

    import pytest

    from tests.conftest import REPO, free_port

    export_path = REPO.parent / "shared" / "data" / "device-supervisor" / "device_supervisor.cfg"
    if not export_path.exists():
        pytest.skip(f"{export_path} is not beside this checkout")
    export = json.loads(export_path.read_text(encoding="utf-8"))
    for controller in export["controllers"]:  # only loopback: nothing leaves this machine
        controller["endpoint"] = f"127.0.0.1:{free_port()}"
    export["clouds"][0]["args"].update(host="127.0.0.1", port=web_gateway.broker_port)
    client = await web_gateway.logged_in()
    try:
        form = FormData()
        form.add_field("file", b"{not json", filename="broken.cfg")
        status, answer = await client.call("POST", "/config/import-ds", data=form)
        assert status == 400 and "not a Device Supervisor configuration export" in answer["error"]
        before = web_gateway.config_path.read_text()
        form = FormData()
        form.add_field("file", json.dumps(export).encode(), filename="device_supervisor.cfg")
        status, preview = await client.call("POST", "/config/import-ds?preview=1", data=form)
        assert status == 200 and preview["preview"] and preview["measures"] == 415, preview
        assert any(line.startswith("measures: added ") and "removed PLC1.Temp" in line for line in preview["changes"])
        assert web_gateway.config_path.read_text() == before  # a preview changes nothing
        form = FormData()
        form.add_field("file", json.dumps(export).encode(), filename="device_supervisor.cfg")
        status, answer = await client.call("POST", "/config/import-ds", data=form)
        assert status == 200, answer
        assert (answer["controllers"], answer["measures"], answer["scripts"]) == (2, 415, 3)
        assert len(answer["report"]) == 1 and "时间同步" in answer["report"][0]
        status, page = await client.call("GET", "/measures?limit=1")
        assert page["total"] == 415
        assert (web_gateway.config_path.parent / "config.yaml.bak").exists()  # the previous file is kept
    finally:
        await client.close()


async def test_a_sparkplug_cloud_is_added_and_checked_through_the_api(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    cloud = {"name": "scada", "type": "sparkplug", "host": "127.0.0.1", "port": web_gateway.broker_port,
             "client_id": "web-test-node", "sparkplug": {"group_id": "plant", "groups": ["default"]}}
    try:
        status, answer = await client.call("POST", "/config/clouds", {**cloud, "sparkplug": {"group_id": "plant/3"}})
        assert status == 400 and answer["problems"][0]["path"] == "sparkplug.group_id", answer  # the body's check
        status, answer = await client.call("POST", "/config/clouds", cloud)
        assert status == 200, answer
        _, clouds = await client.call("GET", "/config/clouds")
        assert next(c for c in clouds if c["name"] == "scada")["sparkplug"] == {"group_id": "plant",
                                                                                "groups": ["default"]}
        status, answer = await client.call("POST", "/config/publish", {
            "name": "to-scada", "cloud": "scada", "topic": "x", "groups": ["default"]})
        assert status == 422 and "Sparkplug B edge node" in answer["problems"][0]["message"]
        assert "type: sparkplug" in web_gateway.config_path.read_text()
    finally:
        await client.close()


async def test_test_connection_tries_a_form_without_saving_it(web_gateway: WebGateway) -> None:
    from tests.conftest import free_port

    client = await web_gateway.logged_in()
    before = web_gateway.config_path.read_text()
    plc = {"name": "PLC9", "protocol": "modbus-tcp", "endpoint": web_gateway.plc_endpoint, "timeout": 1}
    try:
        status, answer = await client.call("POST", "/config/controllers/test", plc)
        assert status == 200 and answer["connected"], answer
        assert answer["said"].startswith(f"connected to {web_gateway.plc_endpoint} in ")
        status, answer = await client.call("POST", "/config/controllers/test",
                                           {**plc, "endpoint": f"127.0.0.1:{free_port()}"})
        assert status == 200 and not answer["connected"] and "127.0.0.1" in answer["said"], answer
        status, answer = await client.call("POST", "/config/controllers/test",
                                           {**plc, "protocol": "s7", "args": {"slot": 99}})
        assert status == 422 and answer["problems"][0]["path"] == "args.slot", answer

        _, [cloud] = await client.call("GET", "/config/clouds")  # its password comes back hidden
        status, answer = await client.call("POST", "/config/clouds/test", cloud)
        assert status == 200 and answer["connected"] and "as web-test-test" in answer["said"], answer
        status, answer = await client.call("POST", "/config/clouds/test", {**cloud, "port": free_port()})
        assert status == 200 and not answer["connected"] and "refused" in answer["said"], answer
        assert web_gateway.config_path.read_text() == before  # nothing was saved
        _, overview = await client.call("GET", "/status")
        assert overview["clouds"][0]["connected"]  # the running connection was not pushed off by the test's
    finally:
        await client.close()
