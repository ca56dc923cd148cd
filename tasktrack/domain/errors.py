"""Domain errors, each carrying the ClearML result code and subcode it answers with."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refused command or query; nothing was written."""

    code: ClassVar[int] = 400
    subcode: ClassVar[int] = 0

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    @property
    def codes(self) -> tuple[int, int]:
        return (self.code, self.subcode)


class InvalidRequest(DomainError):
    """The request fails validation: a missing or mistyped field, a bad enum value."""

    subcode = 12


class ImpersonationRefused(DomainError):
    """A request asked to act as another user (ClearML's impersonation headers): never allowed.

    tasktrack's users are its credentials' users, so the actor an audit reads is always the
    owner of the credential that made the call.
    """

    subcode = 6


class RoleNotAllowed(DomainError):
    """403: an endpoint ClearML keeps for its system, root and admin roles (user management)."""

    code = 403
    subcode = 20


class ConflictingFields(DomainError):
    subcode = 15


class BadFilter(DomainError):
    subcode = 16


class QueryTooSlow(BadFilter):
    """A read ran past the read timeout and was cancelled (a filter that is too costly)."""

    def __init__(self, timeout_ms: int) -> None:
        super().__init__(
            f"Query cancelled after {timeout_ms} ms (the read timeout): narrow its filters",
            timeout_ms=timeout_ms,
        )


class EmptyBatch(DomainError):
    subcode = 17


class TaskNotFound(DomainError):
    """Unknown, deleted or another company's task: indistinguishable on purpose."""

    subcode = 101

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Invalid task id: id={task_id}", id=task_id)


class InvalidTaskStatus(DomainError):
    """An illegal status change, or an edit in a status that does not allow it."""

    subcode = 110


class StatusChangedConcurrently(DomainError):
    """Another status change won the race against the state this command saw."""

    subcode = 121


class TaskCannotBeDeleted(DomainError):
    subcode = 123


class NoEventsAdded(DomainError):
    subcode = 131


class ProjectNotFound(DomainError):
    """Unknown project, or another company's."""

    subcode = 401

    def __init__(self, project_id: str) -> None:
        super().__init__(f"Invalid project id: id={project_id}", id=project_id)


class InvalidProjectName(DomainError):
    subcode = 407


class ProjectHasTasks(DomainError):
    subcode = 402


class ProjectHasModels(DomainError):
    subcode = 405


class ProjectHasDatasets(DomainError):
    subcode = 406


class CannotUpdateProjectLocation(DomainError):
    """projects.update may rename a project where it stands; projects.move moves it."""

    subcode = 408


class ProjectSourceAndDestinationAreTheSame(DomainError):
    subcode = 410


class ProjectCannotBeMovedUnderItself(DomainError):
    subcode = 411


class ProjectCannotBeMergedIntoItsChild(DomainError):
    subcode = 412


class ProjectHasPipelines(DomainError):
    subcode = 413


class NoWritePermission(DomainError):
    """A write to something the caller may read but not change (a public project)."""

    code = 403
    subcode = 21


class UserNotFound(DomainError):
    """Unknown user id, or another company's (ClearML's invalid_user_id)."""

    subcode = 300

    def __init__(self, user_id: str) -> None:
        super().__init__(f"Invalid user id: id={user_id}", id=user_id)


class QueueNotFound(DomainError):
    subcode = 701


class TaskAlreadyQueued(DomainError):
    subcode = 706


class DataRuleViolation(DomainError):
    """A value breaks a data rule (a name shorter than 3 characters)."""

    subcode = 800


class ExpectedUniqueData(DomainError):
    """A value that must be unique already exists (a project name)."""

    subcode = 801


class VersionConflict(DomainError):
    """The stream is not at the version the client expected (optimistic concurrency)."""

    code = 409
    subcode = 0

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"version conflict on {stream_id}: expected version {expected}, stream is at {actual}",
            stream_id=stream_id,
            expected_version=expected,
            actual_version=actual,
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class RequestIdReused(DomainError):
    """An idempotency key (request id) was sent again with a different request."""

    code = 409
    subcode = 1


class TaskEventsLocked(DomainError):
    """A published task's events are locked (ClearML's InvalidTaskId, 400/101)."""

    subcode = 101

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Cannot update events for a published task: id={task_id}", id=task_id)
