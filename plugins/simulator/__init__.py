"""The ``simulator`` protocol: values that move, with no PLC at all; also the waveforms that
the Modbus and S7 simulator servers serve."""
