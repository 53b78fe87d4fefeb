"""A user's first hour in a real browser (Debian's Chromium, headless, driven by Playwright):
first setup, live values, adding a controller and a measure, writing a setpoint, fixing a
script, importing a measure CSV with a bad row, logs and settings. A screenshot of each page is
saved under test-artifacts/screenshots/."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography import x509
from playwright.async_api import Browser, Page, async_playwright, expect
from pymodbus.client import AsyncModbusTcpClient

from gateway.core.certificates import fingerprint
from gateway.southbound import DataType, Point
from gateway_plugins.opcua.simserver import OpcUaSimServer
from tests.conftest import Subscriber, free_port
from tests.waiting import until
from tests.web.conftest import PASSWORD, WebGateway

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed "
                                "(make test installs it)")
DATED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
BROKEN_SCRIPT = "import json\n\ndef upload(data, api):\n    for x in range(3)\n        pass\n"
FIXED_SCRIPT = ("import json\n\ndef upload(data, api):\n    temp = data['values']['PLC1']['Temp']['raw_data']\n"
                "    print('temp is', temp)\n    return {'from_ui': True, 'temp': temp}\n")


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield instance
        await instance.close()


async def _shot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def _set_up(page: Page, web_gateway: WebGateway) -> None:
    await page.goto(web_gateway.url + "/")
    await expect(page.get_by_role("heading", name="Set the administrator password")).to_be_visible()
    await expect(page.get_by_role("link", name="Overview")).to_be_hidden()  # no navigation before login
    await page.get_by_label("Setup code").fill(web_gateway.setup_code)
    await page.get_by_label("New password (at least 8 characters)").fill(PASSWORD)
    await page.get_by_label("Repeat the password").fill(PASSWORD)
    await page.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def test_first_hour_in_the_browser(web_gateway: WebGateway, browser: Browser, artifacts: Path,
                                         subscribe: Any) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and not re.search(r"status of (422|401)", message.text)
            else None)  # 422 and 401: refused on purpose

    await page.goto(web_gateway.url + "/")
    await _shot(page, artifacts, "01-setup")
    await _set_up(page, web_gateway)
    controllers = page.locator("[data-table=controllers]")
    await expect(controllers.locator("tr[data-controller=PLC1]")).to_contain_text("reading")
    # times carry their date, 24-hour, on the gateway's clock, and how long ago
    await expect(controllers.locator("tr[data-controller=PLC1]")).to_contain_text(DATED)
    await expect(controllers.locator("tr[data-controller=PLC1]")).to_contain_text(re.compile(r"\d+ s ago"))
    machine = page.locator("[data-card=machine]")
    for figure in ("CPU", "Memory", "Disk (data)", "Clock", "Addresses"):
        await expect(machine).to_contain_text(figure)
    await expect(machine).to_contain_text(DATED)
    await expect(page.locator("#alarm-count")).to_have_text("1 alarm")  # TempAlive, in the header on every page
    await _shot(page, artifacts, "02-overview")

    # live values change on the measures page without reloading it
    await page.get_by_role("link", name="Measures").click()
    temp = page.locator("tr[data-key='PLC1/Temp'] td.value")
    await expect(temp).not_to_have_text("—")
    first = await temp.text_content()
    await expect(temp).not_to_have_text(first or "", timeout=10_000)
    await expect(page.locator("tr[data-key='PLC1/Temp']")).to_contain_text(DATED)
    await expect(page.locator("tr[data-key='PLC1/Temp'] td").nth(7)).to_have_text("C")  # the unit has its column
    await _shot(page, artifacts, "03-measures-live")

    # write a setpoint and see it reach the PLC
    await page.locator("tr[data-key='PLC1/Setpoint']").get_by_role("button", name="Write").click()
    await page.locator("input[name=write-value]").fill("42.5")
    await page.locator("form:has(input[name=write-value])").get_by_role("button", name="Write").click()
    await expect(page.get_by_text("written", exact=True)).to_be_visible()
    assert web_gateway.plc.get_value("Setpoint") == pytest.approx(42.5)

    # add a controller: a bad endpoint is refused next to its field, a good one is saved
    await page.get_by_role("link", name="Controllers").click()
    await page.locator("[data-add=controllers]").click()
    form = page.locator("[data-section=controllers] form.item")
    await form.get_by_label("Name").fill("PLC2")
    # the form is the chosen protocol's, from the driver registry: S7 has a rack and a slot, checked by the gateway
    await form.get_by_label("Protocol").select_option(label="Siemens S7 (ISO on TCP)")
    await expect(form.get_by_label("Name")).to_have_value("PLC2")  # drawn again for S7, keeping what was typed
    await expect(form).to_contain_text("DB1.DBD0")
    await expect(form.get_by_label("Endpoint")).to_have_attribute("placeholder", "192.168.1.20:102")
    await form.get_by_label("Endpoint").fill("127.0.0.1:102")
    await form.locator("[name='args.slot']").fill("99")
    await form.get_by_role("button", name="Add").click()
    await expect(form.locator('[data-error-for="args.slot"]')).to_contain_text("must be 31 or less")
    await form.get_by_label("Protocol").select_option(label="Modbus TCP")
    await expect(form.locator("[name='args.slot']")).to_have_count(0)
    await expect(form.locator("[name='args.unit_id']")).to_be_visible()
    await form.get_by_label("Endpoint").fill("plc:0")
    await form.get_by_role("button", name="Add").click()
    await expect(form.locator("[data-error-for=endpoint]")).to_contain_text("has no valid port")
    await _shot(page, artifacts, "04-controller-refused")
    await form.get_by_label("Endpoint").fill(web_gateway.plc_endpoint)
    await form.get_by_role("button", name="Test connection").click()  # tried before it is saved
    await expect(form.locator("[data-test-result]")).to_contain_text(f"connected to {web_gateway.plc_endpoint}")
    await form.get_by_role("button", name="Add").click()
    await expect(page.locator("[data-table=controllers] tr[data-name=PLC2]")).to_be_visible()
    await _shot(page, artifacts, "05-controllers")

    # add a measure on it and see its value arrive
    await page.get_by_role("link", name="Measures").click()
    await page.get_by_role("button", name="Add measure").click()
    form = page.locator("form.item")
    for label, value in (("Name", "Level"), ("Address", "40021")):
        await form.get_by_label(label, exact=True).fill(value)
    # controller and group are picked from the configuration, not typed; the transform is chosen by kind
    await expect(form.locator("select[name=controller] option")).to_have_text(["PLC1", "PLC2"])
    await form.locator("select[name=controller]").select_option("PLC2")
    await form.locator("select[name=group]").select_option("default")
    await form.get_by_label("Type").select_option("INT")
    await form.locator("select[name='transform.kind']").select_option("gain_offset")
    await form.locator("input[name='transform.gain']").fill("2")
    await _shot(page, artifacts, "05-measure-form")
    await form.get_by_role("button", name="Add measure").click()
    await expect(page.get_by_text("Saved PLC2/Level")).to_be_visible()
    await expect(page.locator("tr[data-key='PLC2/Level'] td.value")).not_to_have_text("—", timeout=10_000)
    level = next(m for m in (await _config_items(web_gateway, "measures")) if m["name"] == "Level")
    assert level["transform"] == {"kind": "gain_offset", "gain": 2.0, "offset": 0.0}

    # import a measure CSV with one bad row: the report names it and nothing is imported
    csv_path = artifacts.parent / "measures-with-a-bad-row.csv"
    csv_path.write_text("MeasuringPointName,ControllerName,GroupName,DataType,Address,ReadWrite\n"
                        "Flow,PLC1,default,DWORD,40031,ro\nBroken,PLC1,default,NUMBER,40041,ro\n")
    await page.locator("input[name=csv]").set_input_files(str(csv_path))
    await page.locator("[data-action=import]").click()
    report = page.locator("[data-report=measures]")
    await expect(report).to_contain_text("nothing was imported")
    await expect(report).to_contain_text("row 3: DataType")
    await expect(page.locator("[data-count]")).to_have_attribute("data-count", "3")
    await _shot(page, artifacts, "06-csv-report")

    # a script with an error shows its line; fixed and saved, its messages reach the broker
    subscriber: Subscriber = subscribe("plant/data")
    await page.get_by_role("link", name="Scripts").click()
    await page.locator("select[name=file]").select_option("upload.py")
    editor = page.locator("textarea[name=source]")
    await expect(editor).to_have_value("def upload(data, api):\n    return {'values': data['values']}\n")
    # the file a publish rule runs opens with that rule's function and group to test with
    await expect(page.locator("input[name=function]")).to_have_value("upload")
    await expect(page.locator("[data-output=script]")).to_contain_text("publish rule 'upload'")
    broken = artifacts.parent / "upload.py"
    broken.write_text(BROKEN_SCRIPT)
    await page.locator("input[name=upload]").set_input_files(str(broken))  # an upload with a syntax error
    output = page.locator("[data-output=script]")
    await expect(output).to_contain_text("line 4")
    await expect(editor).to_have_value(BROKEN_SCRIPT)
    assert "def upload(data, api):\n    return {'values'" in (web_gateway.config_path.parent / "scripts" /
                                                             "upload.py").read_text()  # not saved
    await expect(page.locator(".gutter .marked")).to_have_text("4")
    await _shot(page, artifacts, "07-script-error")
    await editor.fill(FIXED_SCRIPT)
    await page.locator("input[name=function]").fill("upload")
    await page.locator("[data-action=test]").click()
    await expect(page.locator("[data-output=test]")).to_contain_text('"from_ui": true')
    await expect(page.locator("[data-output=printed]")).to_contain_text("INFO temp is ")
    await page.locator("[data-action=save]").click()
    await expect(output).to_contain_text("Saved upload.py")
    await _shot(page, artifacts, "08-scripts")
    payload = await asyncio.to_thread(_next_from_ui, subscriber)
    assert payload["from_ui"] is True and isinstance(payload["temp"], float)
    # a download function is tried on a message typed in: nothing is written
    await editor.fill("import json\nfrom quickfaas.measure import write_plc_values\n\n"
                      "def main(topic, payload):\n    write_plc_values(json.loads(payload))\n")
    await page.locator("input[name=function]").fill("main")
    await page.locator("select[name=test-with]").select_option("message")
    await page.locator("input[name=topic]").fill("cmd/setpoint")
    await page.locator("input[name=payload]").fill('{"Setpoint": 42}')
    await page.locator("[data-action=test]").click()
    await expect(page.locator("[data-output=test]")).to_contain_text(  # the JSON is shown indented
        re.compile(r'write_plc_values:\s*\{\s*"Setpoint": 42\s*\}'))

    await page.get_by_role("link", name="Logs").click()
    log_box = page.locator("[data-log=gateway]")
    await expect(log_box).to_contain_text("configuration changed")
    await expect(log_box).to_contain_text(DATED)
    await page.locator("select[name=source]").select_option("gateway.audit")
    await expect(log_box).to_contain_text("write PLC1.Setpoint")
    await expect(log_box).not_to_contain_text("configuration changed")
    await page.locator("select[name=source]").select_option("")
    await page.locator("input[name=search]").fill("restarts with")
    await expect(log_box.locator("div").first).to_contain_text("restarts with")
    await page.locator("[data-action=pause]").click()
    await expect(page.locator("[data-action=pause]")).to_have_text("Resume")
    async with page.expect_download() as downloading:
        await page.locator("[data-action=download]").click()
    downloaded = await asyncio.to_thread(Path(await (await downloading.value).path()).read_text)
    assert "restarts with" in downloaded and "delivered" not in downloaded  # what the filters show
    await _shot(page, artifacts, "09-logs")
    await page.locator("[data-action=pause]").click()
    # the temperature's history is charted; zooming in asks for a shorter window
    await page.get_by_role("link", name="History").click()
    await page.get_by_label("PLC1/Temp").check()
    line = page.locator("[data-chart=history] polyline[data-series='PLC1/Temp']")
    await expect(line).to_be_attached()
    await page.get_by_role("button", name="15 min").click()
    for _ in range(20):  # zoomed in to a few minutes, the seconds recorded so far become separate points
        await page.locator("[data-action=zoom-in]").click()
        await expect(line).to_be_attached()
        if len((await line.get_attribute("points") or "").split()) >= 3:
            break
        await page.wait_for_timeout(500)
    assert len((await line.get_attribute("points") or "").split()) >= 3
    await expect(page.locator("[data-table=statistics]")).to_contain_text("5min")
    # a second series of another unit gets its own axis; hovering shows each value with its unit
    await page.get_by_label("PLC1/Setpoint").check()
    await expect(page.locator("[data-chart=history] [data-axis]")).to_have_count(2)
    chart = page.locator("[data-chart=history] svg")
    box = await chart.bounding_box()
    assert box is not None
    await chart.hover(position={"x": box["width"] * 0.97, "y": box["height"] / 2})  # where the samples are
    hover = page.locator("[data-hover=history]")
    await expect(hover).to_contain_text(re.compile(r"PLC1/Temp: [-\d.]+ C"))
    await expect(hover).to_contain_text("PLC1/Setpoint: ")
    await _shot(page, artifacts, "10-history")
    await page.get_by_role("link", name="Alarms").click()
    await expect(page.locator("[data-alarms=active] tr[data-alarm=TempAlive]")).to_contain_text("2 Warning")
    await expect(page.locator("[data-alarms=history]")).to_contain_text("raised")
    raised = page.locator("[data-alarms=active] tr[data-alarm=TempAlive]")
    await raised.get_by_role("button", name="Acknowledge").click()
    await expect(raised).to_contain_text("admin at 127.0.0.1")
    await expect(page.locator("[data-alarms=history]")).to_contain_text("acknowledged")
    # a new alarm rule: the measure picked, the condition an operator and a value
    await page.locator("[data-add=alarms]").click()
    form = page.locator("[data-section=alarms] form.item")
    await form.locator("input[name=name]").fill("LevelSeen")
    await form.locator("select[name=measure]").select_option("Level")
    await form.locator("select[name='cond1.op']").select_option(label="≥")
    await form.locator("input[name='cond1.value']").fill("-1")
    await form.get_by_role("button", name="Add").click()
    await expect(page.locator("[data-table=alarms] tr[data-name=LevelSeen]")).to_contain_text("≥ -1")
    await _shot(page, artifacts, "10-alarms")
    # the audit log has the setpoint written above (before and after) and the acknowledgement
    await page.get_by_role("link", name="Audit").click()
    audit = page.locator("[data-table=audit]")
    await expect(audit.locator("tr[data-action=write]").filter(has_text="PLC1.Setpoint")).to_contain_text("-> 42.5")
    await expect(audit.locator("tr[data-action=write]").filter(has_text="PLC1.Setpoint")).to_contain_text(DATED)
    await expect(audit.locator("tr[data-action=acknowledge]")).to_contain_text("TempAlive")
    await expect(audit.locator("tr[data-action=configuration]").filter(has_text="saved measures")).to_contain_text(
        "measures: added PLC2.Level")
    await expect(audit.locator("tr[data-action=configuration]").first).to_contain_text("alarms: added LevelSeen")
    await page.locator("input[name=filter]").fill("Setpoint")
    await expect(audit.locator("tr[data-action]")).to_have_count(1)
    await _shot(page, artifacts, "10-audit")
    # a cloud's form has its type's fields only; what the form does not show (its will) is kept
    await page.get_by_role("link", name="Clouds").click()
    await page.locator("[data-table=clouds] tr[data-name=default]").get_by_role("button", name="Edit").click()
    form = page.locator("[data-section=clouds] form.item")
    await expect(form.locator("[data-field=devices]")).to_have_count(0)
    await form.locator("input[name=keepalive]").fill("30")
    await form.get_by_role("button", name="Save").click()
    await expect(page.get_by_text("Saved 'default'")).to_be_visible()
    [cloud] = await _config_items(web_gateway, "clouds")
    assert cloud["keepalive"] == 30 and cloud["will"]["topic"] == "plant/status" and cloud["username"] == "gw"
    assert "broker-secret-1" in web_gateway.config_path.read_text()  # the hidden password was kept, not blanked
    for name in ("Groups", "Clouds", "Rules & functions", "Settings"):
        await page.get_by_role("link", name=name).click()
        await expect(page.locator("[data-page]")).to_be_visible()
        await page.wait_for_load_state("networkidle")
        await _shot(page, artifacts, "11-" + name.split()[0].lower())
    # the page came over HTTPS with the certificate the gateway made; Settings shows its fingerprint
    assert page.url.startswith("https://")
    served = x509.load_pem_x509_certificate(web_gateway.certificate.read_bytes())
    await expect(page.locator("[data-fingerprint]")).to_have_text(fingerprint(served))
    # log out, a wrong password is refused, the right one logs in again
    await page.get_by_role("button", name="Log out").click()
    await page.get_by_label("Administrator password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_text("wrong password")).to_be_visible()
    await page.get_by_label("Administrator password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("[data-page]")).to_be_visible()
    await _shot(page, artifacts, "12-logged-in-again")
    assert errors == []


async def _config_items(web_gateway: WebGateway, section: str) -> list[dict[str, Any]]:
    client = await web_gateway.logged_in()
    try:
        status, items = await client.call("GET", f"/config/{section}")
        assert status == 200, items
        return list(items)
    finally:
        await client.close()


def _next_from_ui(subscriber: Subscriber) -> dict[str, Any]:
    for _ in range(40):
        payload = json.loads(subscriber.get(10).payload)
        if "from_ui" in payload:
            return dict(payload)
    raise AssertionError("no message from the saved script")


async def test_the_overview_says_why_a_script_is_paused_and_when_it_runs_again(
        web_gateway: WebGateway, browser: Browser, artifacts: Path) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
    await _set_up(page, web_gateway)
    client = await web_gateway.logged_in()
    try:
        status, answer = await client.call("PUT", "/scripts/files/upload.py",
                                           {"source": "def upload(data, api):\n    return 1 / 0\n"})
        assert status == 200, answer
    finally:
        await client.close()
    scripts = page.locator("[data-table=scripts]")
    await expect(scripts).to_contain_text("paused: failed 5 times in a row", timeout=20_000)
    await expect(scripts).to_contain_text("ZeroDivisionError")
    await expect(scripts).to_contain_text("runs again at")
    await _shot(page, artifacts, "12-overview-paused-script")


async def test_an_opc_ua_server_is_browsed_and_a_value_becomes_a_measure(
        web_gateway: WebGateway, browser: Browser, artifacts: Path) -> None:
    server = OpcUaSimServer([Point("Oven", "ns=2;s=Oven.Temp", DataType.DOUBLE),
                             Point("Batch", "nsu=urn:plant:mes;s=Batch.Name", DataType.STRING, length=16)],
                            "127.0.0.1", free_port(), moving=lambda _p: False)
    server.set_value("Oven", 181.5)
    await server.start()
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
    try:
        await _set_up(page, web_gateway)
        client = await web_gateway.logged_in()
        try:
            status, answer = await client.call("POST", "/config/controllers", {
                "name": "MES", "protocol": "opcua", "endpoint": server.url, "timeout": 2.0})
            assert status == 200, answer
            status, answer = await client.call("GET", "/controllers/PLC1/browse")
            assert status == 400 and "cannot be browsed" in answer["error"]  # Modbus has no address space
        finally:
            await client.close()
        await page.get_by_role("link", name="Controllers").click()
        await page.locator("[data-browse=MES]").click()
        browsed = page.locator("[data-browse-table=MES]")
        await browsed.locator("tr", has_text="Simulated").get_by_role("button", name="Open").click()
        row = browsed.locator("tr[data-address='nsu=urn:plant:mes;s=Batch.Name']")  # by URI, not index
        await expect(row).to_contain_text("STRING")
        await browsed.locator("tr", has_text="Oven.Temp").get_by_role("button", name="Add measure").click()
        await expect(page.get_by_text("Added measure 'Oven'")).to_be_visible()
        await _shot(page, artifacts, "13-browse-opc-ua")
        await page.get_by_role("link", name="Measures").click()
        await expect(page.locator("tr[data-key='MES/Oven'] td.value")).to_have_text("181.5", timeout=15_000)
    finally:
        await page.close()
        await server.stop()


async def test_the_modbus_slave_is_turned_on_from_the_services_page_and_a_scada_reads_it(
        web_gateway: WebGateway, browser: Browser, artifacts: Path) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
    slave_port = free_port()
    try:
        await _set_up(page, web_gateway)
        await page.get_by_role("link", name="Services").click()
        service = page.locator("[data-service=modbus_server]")
        await expect(service).to_contain_text("not configured")
        await service.get_by_label("host").fill("127.0.0.1")
        await service.get_by_label("port").fill("70000")
        await service.get_by_label("layout").select_option("auto")
        await service.get_by_role("button", name="Turn on").click()
        await expect(service.locator("label", has_text="port")).to_contain_text("must be 65535 or less")
        await service.get_by_label("port").fill(str(slave_port))
        await service.get_by_role("button", name="Turn on").click()
        served = page.locator("[data-table=served-modbus_server]")
        await expect(served.locator("tr", has_text="Setpoint")).to_contain_text("400001")  # rw: a holding register
        await expect(served.locator("tr", has_text="Temp")).to_contain_text("300001")  # ro: an input register
        await _shot(page, artifacts, "14-services-modbus-slave")
        client = AsyncModbusTcpClient("127.0.0.1", port=slave_port, timeout=3, retries=0)
        try:
            async def temp_served() -> bool:
                if not client.connected:
                    await client.connect()
                answer = await client.read_input_registers(0, count=2, device_id=1)
                return not answer.isError()
            await until(temp_served, "the slave to serve Temp", 15)
        finally:
            client.close()
        await page.get_by_role("link", name="Overview").click()
        overview_row = page.locator("[data-service=modbus_server]")
        await expect(overview_row).to_contain_text(f"listening on 127.0.0.1:{slave_port}")
        saved = web_gateway.config_path.read_text()
        assert "modbus_server:" in saved and str(slave_port) in saved
    finally:
        await page.close()


async def test_a_new_password_is_typed_twice_in_the_settings(web_gateway: WebGateway, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
    try:
        await _set_up(page, web_gateway)
        await page.get_by_role("link", name="Settings").click()
        await page.get_by_label("Current password").fill(PASSWORD)
        await page.get_by_label("New password", exact=True).fill("a-new-password-1")
        await page.get_by_label("Repeat the new password").fill("a-new-password-2")
        await page.get_by_role("button", name="Change password").click()
        await expect(page.locator("label", has_text="Repeat the new password")).to_contain_text("differ")
        assert web_gateway.service.passwords.verify(PASSWORD)  # nothing changed
        await page.get_by_label("Repeat the new password").fill("a-new-password-1")
        await page.get_by_role("button", name="Change password").click()
        await expect(page.get_by_text("Password changed")).to_be_visible()
        assert web_gateway.service.passwords.verify("a-new-password-1")
    finally:
        await page.close()


async def test_labels_and_iotgo_devices_are_rows_not_json(web_gateway: WebGateway, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, ignore_https_errors=True)
    try:
        await _set_up(page, web_gateway)
        await page.get_by_role("link", name="Settings").click()
        labels = page.locator("[data-field=labels]")
        await labels.get_by_role("button", name="+ add a label").click()
        await labels.locator("input[name='labels.key']").last.fill("site")
        await labels.locator("input[name='labels.value']").last.fill("north")
        await page.locator("form.item").first.get_by_role("button", name="Save").click()
        await expect(page.get_by_text("Saved; the gateway restarted")).to_be_visible()
        assert web_gateway.service.config.model.gateway.labels == {"site": "north"}

        await page.get_by_role("link", name="Clouds").click()
        await page.locator("[data-add=clouds]").click()
        form = page.locator("[data-section=clouds] form.item")
        await form.locator("input[name=name]").fill("ewelink")
        await form.locator("select[name=type]").select_option("iotgo")
        devices = form.locator("[data-field=devices]")
        await expect(form.locator("input[name=username]")).to_have_count(0)  # the IoTgo form has no MQTT fields
        for deviceid in ("1000000001", "1000000002"):
            await devices.get_by_role("button", name="+ add a device").click()
            await devices.locator("input[name=deviceid]").last.fill(deviceid)
            await devices.locator("input[name=apikey]").last.fill("0b7e3a1c-5d2f-4e8a-9c6b-1f2e3d4c5b6a")
            await devices.locator("input[name=measures]").last.fill("Temp")
        await devices.locator("button[title=remove]").first.click()  # the first row removed again
        await form.locator("input[name=host]").fill("127.0.0.1")
        await form.get_by_role("button", name="Add", exact=True).click()
        await expect(page.locator("[data-table=clouds] tr[data-name=ewelink]")).to_be_visible()
        cloud = next(c for c in await _config_items(web_gateway, "clouds") if c["name"] == "ewelink")
        assert [(d["deviceid"], d["measures"]) for d in cloud["devices"]] == [("1000000002", ["Temp"])]
    finally:
        await page.close()
