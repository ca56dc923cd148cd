"""The service, the only writer: per command one transaction that locks, decides, appends."""

from tasktrack.service.core import Caller, TaskService

__all__ = ["Caller", "TaskService"]
