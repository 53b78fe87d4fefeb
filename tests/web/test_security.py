"""The admin UI is secure by default: each defense of docs/design.md section 7, tested over real HTTP."""

from __future__ import annotations

import asyncio
import re
import stat
import subprocess
import sys

from aiohttp import FormData

from gateway.web import build_api
from gateway.web.api import PREFIX
from tests.conftest import free_port
from tests.web.conftest import PASSWORD, Client, WebGateway

PUBLIC = {("GET", "/health"), ("GET", "/auth/state"), ("POST", "/auth/setup"), ("POST", "/auth/login")}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def test_every_route_but_login_setup_and_health_needs_a_session(web_gateway: WebGateway) -> None:
    api = build_api()
    assert {(e.method, e.path) for e in api.endpoints if e.public} == PUBLIC
    anonymous = Client(web_gateway.url)
    try:
        routes = [(e.method, e.path) for e in api.endpoints if not e.public] + [("GET", "/openapi.json")]
        assert len(routes) > 40
        for method, path in routes:
            status, answer = await anonymous.call(method, _concrete(path), {})
            assert status == 401, f"{method} {path} answered {status} without a session"
            assert answer == {"error": "log in first"}
        async with anonymous.http.get(web_gateway.url + "/ws") as response:
            assert response.status == 401
        status, answer = await anonymous.call("GET", "/health")
        assert status == 200 and answer["status"] == "ready" and set(answer) == {"status", "version"}
    finally:
        await anonymous.close()


async def test_no_default_password_the_setup_code_works_once(web_gateway: WebGateway) -> None:
    code_file = web_gateway.service.passwords.setup_code_path
    assert stat.S_IMODE(code_file.stat().st_mode) == 0o600
    client = Client(web_gateway.url)
    try:
        for guess in ("admin", "password", "123456", ""):
            status, _ = await client.call("POST", "/auth/login", {"password": guess})
            assert status == 409  # no password exists to guess
        status, answer = await client.call("POST", "/auth/setup", {"code": "WRONG-CODE", "password": PASSWORD})
        assert status == 403 and "setup code" in answer["error"]
        status, answer = await client.call("POST", "/auth/setup", {"code": web_gateway.setup_code, "password": "short"})
        assert status == 400 and answer["problems"] == [{"path": "password", "message": answer["error"]}]
        status, _ = await client.call("POST", "/auth/setup", {"code": web_gateway.setup_code, "password": PASSWORD})
        assert status == 200 and not code_file.exists()
        status, _ = await client.call("POST", "/auth/setup", {"code": "anything", "password": "another password"})
        assert status == 409
        stored = web_gateway.service.passwords.path
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert PASSWORD not in stored.read_text() and '"algorithm": "scrypt"' in stored.read_text()
    finally:
        await client.close()


async def test_session_cookie_is_httponly_and_strict_and_changes_need_the_csrf_token(web_gateway: WebGateway) -> None:
    client = Client(web_gateway.url)
    try:
        async with client.http.post(web_gateway.url + PREFIX + "/auth/setup",
                                    json={"code": web_gateway.setup_code, "password": PASSWORD}) as response:
            cookie = response.headers["Set-Cookie"]
            client.csrf = (await response.json())["csrf"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "gw_session=" in cookie
        body = {"name": "g2", "upload_interval": 5}
        assert (await client.call("POST", "/config/groups", body, csrf=False))[0] == 403
        forged = await client.call("POST", "/config/groups", body, headers={"X-CSRF-Token": "forged"}, csrf=False)
        assert forged[0] == 403
        assert "g2" not in web_gateway.config_path.read_text()
        status, _ = await client.call("POST", "/config/groups", body)
        assert status == 200 and "g2" in web_gateway.config_path.read_text()
        # a public post must be JSON: a cross-site form cannot send that without the browser asking first
        async with client.http.post(web_gateway.url + PREFIX + "/auth/login", data="password=x",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"}) as response:
            assert response.status == 415
    finally:
        await client.close()


async def test_failed_logins_lock_the_address_out(web_gateway: WebGateway) -> None:
    await (await web_gateway.logged_in()).close()
    client = Client(web_gateway.url)
    try:
        statuses = [(await client.call("POST", "/auth/login", {"password": f"wrong {i}"}))[0] for i in range(5)]
        assert statuses == [401] * 5
        async with client.http.post(web_gateway.url + PREFIX + "/auth/login", json={"password": PASSWORD}) as response:
            assert response.status == 429  # even the right password waits out the lockout
            assert int(response.headers["Retry-After"]) >= 1
            assert "too many failed attempts" in (await response.json())["error"]
    finally:
        await client.close()


async def test_security_headers_on_pages_api_and_errors(web_gateway: WebGateway) -> None:
    client = Client(web_gateway.url)
    try:
        for path in ("/", "/static/app.js", PREFIX + "/health", PREFIX + "/status", PREFIX + "/nope",
                     "/static/nope.js"):
            async with client.http.get(web_gateway.url + path) as response:
                csp = response.headers.get("Content-Security-Policy", "")
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
                assert response.headers.get("X-Frame-Options") == "DENY", path
                assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        async with client.http.get(web_gateway.url + "/") as response:
            page = await response.text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script anywhere
        assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    finally:
        await client.close()


async def test_passwords_and_keys_are_never_returned(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    try:
        for path in ("/config", "/config/clouds", "/config/export.yaml"):
            status, answer = await client.call("GET", path)
            assert status == 200 and "broker-secret-1" not in str(answer), path
        _, clouds = await client.call("GET", "/config/clouds")
        assert clouds[0]["password"] == "********"
        clouds[0]["keepalive"] = 30  # saving with the placeholder keeps the stored password
        status, _ = await client.call("PUT", "/config/clouds/default", clouds[0])
        assert status == 200
        text = web_gateway.config_path.read_text()
        assert "broker-secret-1" in text and "keepalive: 30" in text
        status, answer = await client.call("GET", "/logs?level=DEBUG")
        assert "broker-secret-1" not in str(answer) and PASSWORD not in str(answer)
    finally:
        await client.close()


async def test_a_controllers_password_is_hidden_and_kept(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    opcua = {"name": "MES", "protocol": "opcua", "endpoint": "opc.tcp://127.0.0.1:9", "timeout": 0.5,
             "args": {"auth": "username", "username": "operator", "password": "opc-secret-7"}}
    try:
        status, answer = await client.call("POST", "/config/controllers", opcua)
        assert status == 200, answer
        _, controllers = await client.call("GET", "/config/controllers")
        shown = next(c for c in controllers if c["name"] == "MES")
        assert shown["args"]["password"] == "********"
        shown["timeout"] = 0.75  # saving with the placeholder keeps the stored password
        status, answer = await client.call("PUT", "/config/controllers/MES", shown)
        assert status == 200, answer
        text = web_gateway.config_path.read_text()
        assert "opc-secret-7" in text and "timeout: 0.75" in text
        for path in ("/config", "/config/export.yaml", "/logs?level=DEBUG"):
            status, answer = await client.call("GET", path)
            assert status == 200 and "opc-secret-7" not in str(answer), path
    finally:
        await client.close()


async def test_an_opc_ua_server_users_password_is_hidden_and_kept(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    settings = {"host": "127.0.0.1", "port": free_port(), "users": [{"username": "scada", "password": "opc-server-9"}]}
    try:
        status, answer = await client.call("PUT", "/config/services/opcua_server", settings)
        assert status == 200 and answer["users"][0]["password"] == "********", answer
        _, services = await client.call("GET", "/services")
        shown = next(s for s in services if s["key"] == "opcua_server")["settings"]
        assert shown["users"] == [{"username": "scada", "password": "********"}]
        shown["allow_unencrypted"] = True  # saving with the placeholder keeps the stored password
        status, answer = await client.call("PUT", "/config/services/opcua_server", shown)
        assert status == 200, answer
        text = web_gateway.config_path.read_text()
        assert "opc-server-9" in text and "allow_unencrypted: true" in text
        shown["users"].append({"username": "new", "password": "********"})  # a placeholder for a new user
        status, answer = await client.call("PUT", "/config/services/opcua_server", shown)
        assert status == 400 and "user 'new'" in answer["error"]
        status, answer = await client.call("PUT", "/config/services/opcua_server", {"users": [
            {"username": "scada", "password": "short"}]})
        assert status == 422 and answer["problems"][0]["path"].startswith("services.opcua_server.users")
        for path in ("/config", "/config/export.yaml", "/logs?level=DEBUG", "/services"):
            status, answer = await client.call("GET", path)
            assert status == 200 and "opc-server-9" not in str(answer), path
    finally:
        await client.close()


async def test_user_file_names_never_become_paths_and_uploads_are_capped(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    outside = web_gateway.config_path.parent / "evil.py"
    try:
        for name in ("../evil.py", "..%2Fevil.py", "evil.sh", ".hidden.py", "a b.py"):
            status, _ = await client.call("PUT", f"/scripts/files/{name}", {"source": "x = 1\n"})
            assert status in (400, 404), name
        form = FormData()
        form.add_field("file", b"x = 1\n", filename="../../evil.py", content_type="text/x-python")
        status, answer = await client.call("POST", "/scripts/upload", data=form)
        assert status == 400 and "file name" in answer["error"]
        assert not outside.exists() and not (web_gateway.config_path.parent.parent / "evil.py").exists()
        form = FormData()
        form.add_field("file", b"x = 1\n" * 60_000, filename="big.py", content_type="text/x-python")
        status, answer = await client.call("POST", "/scripts/upload", data=form)
        assert status == 413
        status, answer = await client.call("POST", "/measures/import", data=b"x" * (9 * 1024 * 1024),
                                           headers={"Content-Type": "text/csv"})
        assert status == 413
    finally:
        await client.close()


async def test_a_change_that_fails_validation_changes_nothing(web_gateway: WebGateway) -> None:
    client = await web_gateway.logged_in()
    before = web_gateway.config_path.read_text()
    running = web_gateway.service.gateway
    try:
        status, answer = await client.call("POST", "/config/measures", {
            "name": "Bad", "controller": "PLC1", "group": "nope", "address": "4x0001", "type": "FLOAT"})
        assert status == 422
        assert {p["path"] for p in answer["problems"]} >= {"measures[2].address", "measures[2].group"}
        status, answer = await client.call("PUT", "/config/publish/upload", {
            "name": "upload", "cloud": "default", "topic": "plant/data", "groups": ["default"],
            "function": "missing", "script": "scripts/upload.py"})
        assert status == 422 and "no function 'missing'" in str(answer["problems"])
        assert web_gateway.config_path.read_text() == before
        assert web_gateway.service.gateway is running  # not restarted
    finally:
        await client.close()


async def test_gateway_passwd_sets_the_password_from_the_shell(web_gateway: WebGateway) -> None:
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "gateway", "passwd", "-c",
                                                    str(web_gateway.config_path), "--stdin"],
                                   input="from the shell 123\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "from the shell" not in done.stdout + done.stderr
    client = Client(web_gateway.url)
    try:
        assert (await client.call("POST", "/auth/login", {"password": "from the shell 123"}))[0] == 200
        too_short = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "gateway", "passwd", "-c",
                                                             str(web_gateway.config_path), "--stdin"],
                                            input="short\n", capture_output=True, text=True, timeout=60)
        assert too_short.returncode == 2 and "at least 8 characters" in too_short.stderr
    finally:
        await client.close()
