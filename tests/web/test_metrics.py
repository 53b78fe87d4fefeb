"""/metrics in Prometheus' text format: what a scraper sees, and who may scrape."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from tests.web.conftest import Client, WebGateway


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_for_a_session_or_a_bearer_token_only(web_gateway: WebGateway) -> None:
    anonymous = Client(web_gateway.url)
    client = await web_gateway.logged_in()
    try:
        async with anonymous.http.get(web_gateway.url + "/metrics") as response:
            assert response.status == 401
        plc = (("controller", "PLC1"),)
        upload = (("script", "publish:upload"),)
        for _ in range(150):  # until a few polls, an upload and its script call have happened
            async with client.http.get(web_gateway.url + "/metrics") as response:
                assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
                samples = _samples(await response.text())
            if (samples.get(("gateway_controller_reads_total", plc), 0) >= 3
                    and samples.get(("gateway_script_calls_total", upload), 0) >= 1
                    and samples.get(("gateway_cloud_published_total", (("cloud", "default"),)), 0) >= 1):
                break
            await asyncio.sleep(0.1)
        reads = samples[("gateway_controller_reads_total", plc)]
        assert reads >= 3 and samples[("gateway_controller_read_errors_total", plc)] == 0
        assert samples[("gateway_controller_read_seconds_count", plc)] == reads
        assert samples[("gateway_controller_read_seconds_sum", plc)] > 0
        assert samples[("gateway_cloud_connected", (("cloud", "default"),))] == 1
        assert samples[("gateway_cloud_waiting", (("cloud", "default"),))] == 0  # an MQTT cloud has no devices
        assert samples[("gateway_cloud_dropped_total", (("cloud", "default"),))] == 0
        assert samples[("gateway_cloud_published_total", (("cloud", "default"),))] >= 1
        assert samples[("gateway_script_calls_total", upload)] >= 1
        assert samples[("gateway_script_timeouts_total", upload)] == 0
        assert ("gateway_outbox_depth", ()) in samples and samples[("gateway_outbox_evicted_total", ())] == 0
        assert samples[("gateway_alarms_active", ())] == 1

        _, settings = await client.call("GET", "/config/gateway")
        settings["web"]["metrics_token"] = "scrape-me-123"
        status, _ = await client.call("PUT", "/config/gateway", settings)
        assert status == 200
        _, shown = await client.call("GET", "/config/gateway")
        assert shown["web"]["metrics_token"] == "********"
        status, _ = await client.call("PUT", "/config/gateway", shown)  # the placeholder keeps the token
        assert status == 200 and "scrape-me-123" in web_gateway.config_path.read_text()
        async with anonymous.http.get(web_gateway.url + "/metrics",
                                      headers={"Authorization": "Bearer scrape-me-123"}) as response:
            assert response.status == 200 and "gateway_up 1.0" in await response.text()
        async with anonymous.http.get(web_gateway.url + "/metrics",
                                      headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
    finally:
        await anonymous.close()
        await client.close()


async def test_a_data_service_is_scraped_with_its_state_and_counters(web_gateway: WebGateway) -> None:
    from pymodbus.client import AsyncModbusTcpClient

    from tests.conftest import free_port

    client = await web_gateway.logged_in()
    port = free_port()
    service = (("service", "modbus_server"),)
    try:
        status, answer = await client.call("PUT", "/config/services/modbus_server",
                                           {"host": "127.0.0.1", "port": port, "layout": "auto"})
        assert status == 200, answer
        scada = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        for _ in range(100):  # until the slave listens and has answered a read
            if scada.connected or await scada.connect():
                await scada.read_input_registers(0, count=2, device_id=1)
                await scada.read_input_registers(9000, count=2, device_id=1)  # nothing there: exception 2
            async with client.http.get(web_gateway.url + "/metrics") as response:
                samples = _samples(await response.text())
            if samples.get(("gateway_service_requests_total", service), 0) >= 2:
                break
            await asyncio.sleep(0.1)
        scada.close()
        assert samples[("gateway_service_listening", service)] == 1
        assert samples[("gateway_service_requests_total", service)] >= 2
        assert samples[("gateway_service_exceptions_total", service)] >= 1
    finally:
        await client.close()
