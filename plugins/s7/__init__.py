"""Siemens S7 driver (python-snap7): DB, M, I and Q areas, Device Supervisor and Siemens forms."""
