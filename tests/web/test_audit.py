"""The audit log: a write from the UI names the user's address and the value before and after; a
rule's write names the rule; logins, a failed login, a configuration save and a script upload are
there, searchable and downloadable; a password never is."""

from __future__ import annotations

import asyncio
import csv
import io

from tests.waiting import until
from tests.web.conftest import PASSWORD, Client, WebGateway


async def _entries(client: Client, query: str = "") -> list[dict[str, object]]:
    status, entries = await client.call("GET", "/audit" + query)
    assert status == 200, entries
    return list(entries)


async def test_who_did_what_is_kept(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    stranger = Client(web_gateway.url)
    try:
        await until(lambda: web_gateway.service.live_data() is not None, timeout=20)
        await until(lambda: web_gateway.service.live_data().latest.get("PLC1", "Setpoint").status == 1,  # type: ignore[union-attr]
                    timeout=20)
        status, _ = await client.call("POST", "/measures/PLC1/Setpoint/write", {"value": 21.5})
        assert status == 200
        status, _ = await client.call("POST", "/measures/PLC1/Temp/write", {"value": 1})
        assert status == 409  # read-only: refused, and the attempt is audited too
        assert (await stranger.call("POST", "/auth/login", {"password": "not the password"}))[0] == 401
        status, groups = await client.call("GET", "/config/groups")
        group = dict(groups[0])
        group["upload_interval"] = 0.7
        status, answer = await client.call("PUT", "/config/groups/default", group)
        assert status == 200, answer
        source = "def f(data, api):\n    pass\n"
        status, answer = await client.call("PUT", "/scripts/files/extra.py", {"source": source})
        assert status == 200, answer

        entries = await _entries(client)
        said = [(e["action"], e["subject"]) for e in entries]
        assert ("write", "PLC1.Setpoint") in said and ("write", "PLC1.Temp") in said
        write = next(e for e in entries if e["subject"] == "PLC1.Setpoint")
        assert str(write["actor"]).startswith("admin at 127.0.0.1")
        assert str(write["detail"]).endswith("-> 21.5") and not str(write["detail"]).startswith("None")
        refused = next(e for e in entries if e["subject"] == "PLC1.Temp")
        assert "refused" in str(refused["detail"]) and "read-only" in str(refused["detail"])
        assert ("login failed", "web UI") in said and ("password", "set") in said
        change = next(e for e in entries if e["action"] == "configuration")
        assert change["subject"] == "saved groups" and change["detail"] == "groups: changed default (upload_interval)"
        script = next(e for e in entries if e["action"] == "script")
        assert str(script["subject"]).startswith("saved extra.py")
        assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)  # newest first

        only_writes = await _entries(client, "?filter=Setpoint")
        assert {e["subject"] for e in only_writes} == {"PLC1.Setpoint"}
        older = await _entries(client, f"?before={entries[0]['id']}&limit=2")
        assert [e["id"] for e in older] == [e["id"] for e in entries[1:3]]
        status, text = await client.call("GET", "/audit.csv")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert status == 200 and len(rows) == len(entries) and rows[0]["action"] == entries[0]["action"]
        assert PASSWORD not in text and "not the password" not in text and "broker-secret-1" not in text
        assert (await client.call("GET", "/audit?limit=0"))[0] == 400
        assert (await stranger.call("GET", "/audit"))[0] == 401
    finally:
        await client.close()
        await stranger.close()


async def test_a_rules_write_names_the_rule(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    try:
        await until(lambda: web_gateway.service.live_data() is not None, timeout=20)
        source = ("from quickfaas.measure import write_plc_values\n"
                  "def upload(data, api):\n    write_plc_values({'Setpoint': 7.0})\n")
        status, answer = await client.call("PUT", "/scripts/files/upload.py", {"source": source})
        assert status == 200, answer

        async def written_by_the_rule() -> bool:
            return any(e["actor"] == "rule upload" and e["subject"] == "PLC1.Setpoint"
                       for e in await _entries(client, "?filter=rule"))
        await until(written_by_the_rule, timeout=20)
        await asyncio.sleep(0)
    finally:
        await client.close()


async def test_an_acknowledged_alarm_stays_active_and_the_log_says_who(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    try:
        async def raised() -> bool:
            status, active = await client.call("GET", "/alarms/active")
            return status == 200 and [a["name"] for a in active] == ["TempAlive"]
        await until(raised, timeout=20)
        status, record = await client.call("POST", "/alarms/TempAlive/acknowledge")
        assert status == 200 and record["acknowledged_by"].startswith("admin at 127.0.0.1")
        _, [active] = await client.call("GET", "/alarms/active")
        assert active["current"] == "on" and active["unit"] == "C" and active["acknowledged_at"] > 0
        _, history = await client.call("GET", "/alarms/history")
        assert [e["current"] for e in history[:2]] == ["ack", "on"]
        assert (await client.call("POST", "/alarms/NoSuchAlarm/acknowledge"))[0] == 404
        assert ("acknowledge", "TempAlive") in [(e["action"], e["subject"]) for e in await _entries(client)]
        _, overview = await client.call("GET", "/status")
        assert overview["alarms_active"] == 1
    finally:
        await client.close()
