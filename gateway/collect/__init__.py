"""Collection: pollers per controller, uploaders per group, latest values, transforms."""

from .latest import LatestValues, Reading
from .poller import ControllerHealth, ControllerPoller
from .uploader import GroupUploader, data_collect_now

__all__ = ["ControllerHealth", "ControllerPoller", "GroupUploader", "LatestValues", "Reading", "data_collect_now"]
