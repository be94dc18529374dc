"""Where a client's value stands in its workspace."""

from __future__ import annotations

from sqlalchemy import (
    case,
    func,
    select,
)
from sqlalchemy.orm import Session

from storage.models import (
    Client,
)


def value_standing(session: Session, workspace_id: int, value: int) -> tuple[int, int]:
    """(current clients worth more than `value`, current clients with a value set), in one pass over the workspace's
    range of the value index."""
    valued = [Client.workspace_id == workspace_id, Client.value.is_not(None), Client.status != "former"]
    above, total = session.execute(select(func.sum(case((Client.value > value, 1), else_=0)), func.count())
                                   .select_from(Client).where(*valued)).one()
    return above or 0, total or 0


def value_median(session: Session, workspace_id: int) -> float | None:
    """The median value of current clients with one set; what an unset value ranks as."""
    valued = [Client.workspace_id == workspace_id, Client.value.is_not(None), Client.status != "former"]
    total = session.scalar(select(func.count()).select_from(Client).where(*valued)) or 0
    if not total:
        return None
    middle = select(Client.value).where(*valued).order_by(Client.value)
    values = [v for v in session.scalars(middle.offset((total - 1) // 2).limit(2 - total % 2)) if v is not None]
    return sum(values) / len(values)
