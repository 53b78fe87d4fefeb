"""The data services: what the gateway serves to a local SCADA or HMI (Modbus TCP slave, OPC UA
server), each built from ``services:`` in config.yaml and run as a part of the gateway."""
