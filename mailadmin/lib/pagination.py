"""A Paginator whose later pages stay fast on large tables.

OFFSET makes the database walk and discard every row before the page: the last page of 100,000
mailboxes walks 99,950 index entries. Pages in the second half are read from the other end
instead (the ordering reversed, a small OFFSET) and turned back round, so no page walks more than
half the rows. The ordering must be total (end with a unique column) for the two ends to agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

if TYPE_CHECKING:
    _Paginator = Paginator[Any]
else:  # Paginator is generic only in the stubs
    _Paginator = Paginator


class TwoEndedPaginator(_Paginator):
    def page(self, number: Any) -> Page[Any]:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        items = self.object_list
        if isinstance(items, QuerySet) and items.ordered and bottom > self.count // 2:
            from_end = list(items.reverse()[self.count - top : self.count - bottom])
            from_end.reverse()
            return Page(from_end, number, self)
        return Page(items[bottom:top], number, self)
