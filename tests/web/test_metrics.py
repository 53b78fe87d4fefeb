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
