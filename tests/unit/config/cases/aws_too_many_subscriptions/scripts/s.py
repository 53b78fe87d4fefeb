def main(topic, payload):
    return None
