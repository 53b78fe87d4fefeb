def upload(data_collect, wizard_api):
    return data_collect
