"""The refusals of the workers service, with ClearML's result codes (apierrors 1001-1005)."""

from __future__ import annotations

from tasktrack.domain.errors import DomainError


class WorkerRegistrationFailed(DomainError):
    """A registration ClearML refuses (a timeout that is not positive)."""

    subcode = 1002


class WorkerStatsNotFound(DomainError):
    """No machine statistics were reported by the workers asked about."""

    subcode = 1005
