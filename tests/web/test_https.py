"""The admin UI over HTTPS by default: the certificate made at first start is the one served and
the one whose fingerprint is printed with the setup code; the session cookie is Secure; plain
HTTP on http_port is redirected; the site's own certificate is served once uploaded, a wrong one
refused with nothing changed."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from pathlib import Path

import aiohttp
import pytest

from gateway.demo.broker import MosquittoBroker
from gateway.southbound import DataType, Point
from gateway_plugins.modbus.simserver import ModbusSimServer
from tests.conftest import free_port
from tests.integration.gateway_harness import running_service, write_config
from tests.tls_certs import issue, make_ca
from tests.web.conftest import PASSWORD, UPLOAD_SCRIPT, Client, web_config


def _served_fingerprint(port: int) -> str:
    pem = ssl.get_server_certificate(("127.0.0.1", port))
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


async def test_https_with_the_certificate_made_at_first_start(tmp_path: Path, broker: MosquittoBroker,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    web_port, http_port = free_port(), free_port()
    plc = ModbusSimServer([Point("Temp", "40001", DataType.FLOAT), Point("Setpoint", "40011", DataType.FLOAT)],
                          "127.0.0.1", free_port())
    await plc.start()
    config = web_config(web_port, plc.port, broker.port)
    config["gateway"]["web"]["http_port"] = http_port
    path = write_config(tmp_path, config, {"upload.py": UPLOAD_SCRIPT})
    try:
        async with running_service(path, web=True) as service:
            made = service.data_dir / "web" / "certificate.pem"
            printed = capfd.readouterr().err
            fingerprint = await asyncio.to_thread(_served_fingerprint, web_port)
            assert "setup code" in printed and "SHA-256 fingerprint" in printed and f" {fingerprint})" in printed
            assert f"https://127.0.0.1:{web_port}/" in printed
            assert (service.data_dir / "web" / "key.pem").stat().st_mode & 0o077 == 0  # the key is the gateway's only

            url = f"https://127.0.0.1:{web_port}"
            client = Client(url, trusted=made)  # verified: the made certificate names 127.0.0.1
            try:
                status, _ = await client.call("POST", "/auth/setup", {"code": service.passwords.setup_code(),
                                                                       "password": PASSWORD})
                assert status == 200
                cookie = next(c for c in client.http.cookie_jar if c.key == "gw_session")
                assert cookie["secure"] and cookie["httponly"]
                status, shown = await client.call("GET", "/settings/web-certificate")
                assert status == 200 and shown["fingerprint"] == fingerprint and shown["made_by_the_gateway"]
                assert "127.0.0.1" in shown["names"]

                # plain HTTP: the redirect port sends the browser to HTTPS; the HTTPS port speaks no HTTP
                async with aiohttp.ClientSession() as plain:
                    async with plain.get(f"http://127.0.0.1:{http_port}/api/v1/health?x=1",
                                         allow_redirects=False) as answer:
                        assert answer.status == 308
                        assert answer.headers["Location"] == f"https://127.0.0.1:{web_port}/api/v1/health?x=1"
                    with pytest.raises(aiohttp.ClientError):
                        async with plain.get(f"http://127.0.0.1:{web_port}/api/v1/health") as answer:
                            await answer.read()

                # the site's own certificate: a wrong pair is refused and nothing changes
                ca = make_ca(tmp_path / "pki", "site-ca")
                own = issue(ca, tmp_path / "pki", "gateway-ui", server_ip="127.0.0.1")
                other = issue(ca, tmp_path / "pki", "someone-else", server_ip="127.0.0.1")
                expired = issue(ca, tmp_path / "pki", "old", server_ip="127.0.0.1", expired=True)
                for cert, key, why in ((own.cert_path, other.key_path, "not the certificate's"),
                                       (expired.cert_path, expired.key_path, "expired"),
                                       (own.key_path, own.key_path, "not a PEM certificate")):
                    form = aiohttp.FormData()
                    form.add_field("cert", cert.read_bytes(), filename="cert.pem")
                    form.add_field("key", key.read_bytes(), filename="key.pem")
                    status, answer = await client.call("POST", "/settings/web-certificate", data=form)
                    assert status == 400 and why in answer["error"], answer
                assert await asyncio.to_thread(_served_fingerprint, web_port) == fingerprint
                form = aiohttp.FormData()
                form.add_field("cert", own.cert_path.read_bytes(), filename="cert.pem")
                form.add_field("key", own.key_path.read_bytes(), filename="key.pem")
                status, answer = await client.call("POST", "/settings/web-certificate", data=form)
                assert status == 200 and not answer["made_by_the_gateway"], answer
                assert await asyncio.to_thread(_served_fingerprint, web_port) == answer["fingerprint"] != fingerprint
            finally:
                await client.close()
            site = Client(url, trusted=ca.cert_path)  # a browser trusting the site's CA now trusts the UI
            try:
                assert (await site.call("GET", "/health"))[0] == 200
            finally:
                await site.close()
    finally:
        await plc.stop()
