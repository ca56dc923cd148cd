"""ClearML's listing scrolls over HTTP (`scroll_id`, `size`, `refresh_scroll`), as the tasks,
models and projects listings take them: whether a request scrolls, and the window it reads."""

from __future__ import annotations

from typing import Protocol

from msgspec import UnsetType

from tasktrack.domain.errors import InvalidRequest


class ScrollRequest(Protocol):
    """A listing request's scroll fields (absent `scroll_id` and `size`: no scroll)."""

    @property
    def scroll_id(self) -> str | UnsetType | None: ...
    @property
    def size(self) -> int | None: ...
    @property
    def refresh_scroll(self) -> bool: ...


def scrolls(body: ScrollRequest) -> bool:
    """Whether the request scrolls; as ClearML, a scroll needs `size` >= 1 (400/12)."""
    if isinstance(body.scroll_id, UnsetType) and body.size is None:
        return False
    if body.size is None or body.size < 1:
        raise InvalidRequest(
            "Validation error: Integer size parameter greater than 1 should be provided when "
            "working with scroll",
            field="size",
        )
    return True


def scroll_id(body: ScrollRequest) -> str | None:
    """The scroll the request goes on with (None: a new one)."""
    return body.scroll_id if isinstance(body.scroll_id, str) else None


def window(body: ScrollRequest, position: int) -> tuple[int, int]:
    """(start, size) of the page a scroll that has got to `position` answers next:
    `refresh_scroll` brings everything from the start to where it had got."""
    size = body.size or 1
    if body.refresh_scroll:
        return 0, max(position, size)
    return position, size
