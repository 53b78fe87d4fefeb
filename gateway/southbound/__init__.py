"""The southbound contract: the Driver interface, its core types and the driver registry."""

from gateway.core.source import Quality, SourceStamp

from .driver import AnyDriver, BrowseEntry, Driver, DriverArgs, ReadPlan, SerialLine, parse_args, split_host_port
from .points import ByteOrder, DataType, Point, ReadResult
from .registry import available_protocols, driver_for

__all__ = [
    "AnyDriver", "BrowseEntry", "ByteOrder", "DataType", "Driver", "DriverArgs", "Point", "Quality", "ReadPlan",
    "ReadResult", "SerialLine", "SourceStamp", "available_protocols", "driver_for", "parse_args", "split_host_port",
]
