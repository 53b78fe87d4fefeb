"""The running process: wiring and lifecycle, the service around it, passwords and logs."""
