"""Modbus TCP driver: Device Supervisor address forms, block read planning, byte-order codec."""
