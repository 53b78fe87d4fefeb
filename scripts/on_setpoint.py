# Example subscribe script in Device Supervisor 1.x style.
#
# Called for every message on the rule's topic. A message such as {"Setpoint": 42.5} (or
# {"PLC1": {"Setpoint": 42.5}}) is written to the PLC; the outcome of each value is then
# published to awsiot/ack.
import json
import logging


def on_message(topic, payload, wizard_api):
    try:
        values = json.loads(payload)
    except ValueError:
        logging.warning("ignored a message on %s that is not JSON: %s", topic, payload[:80])
        return
    if not isinstance(values, dict) or not values:
        logging.warning("ignored a message on %s: expected an object of measure values", topic)
        return
    wizard_api.write_plc_values(values, write_done, topic)


def write_done(result, tail, wizard_api):
    wizard_api.awsiot_publish("awsiot/ack", {"request_topic": tail, "result": result}, 1)
