# Example publish script in Device Supervisor 1.x style.
#
# Called every upload interval of the groups in its publish rule, with `data_collect`:
#   {"timestamp": ..., "group_name": ..., "values": {controller: {measure: {"raw_data", "timestamp", "status"}}}}
# It sends one record per controller to the cloud through the durable outbox.
import logging


def vars_upload_test(data_collect, wizard_api):
    value_list = []
    for device, val_dict in data_collect["values"].items():
        value = {"Device": device, "timestamp": data_collect["timestamp"], "Data": {}}
        for measure, var in val_dict.items():
            value["Data"][measure] = var["raw_data"]
        value_list.append(value)
    logging.info("uploading %d controller(s) of group %s", len(value_list), data_collect["group_name"])
    wizard_api.awsiot_publish("awsiot/test", value_list, 1)
