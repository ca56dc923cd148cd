"""Column types SQLAlchemy lacks (xid8), and teaching its reflection to recognise them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import UserDefinedType


class Xid8(UserDefinedType[int]):
    """PostgreSQL's 64-bit, epoch-extended transaction id (never wraps around)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


def register_reflection(dialect: Dialect) -> None:
    """Let reflection (alembic's schema compare) map the `xid8` type name back to Xid8."""
    names: dict[str, Any] | None = getattr(dialect, "ischema_names", None)
    if names is not None and "xid8" not in names:
        names["xid8"] = Xid8
