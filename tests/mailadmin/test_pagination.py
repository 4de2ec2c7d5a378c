from __future__ import annotations

import pytest

from accounts.models import Mailbox
from mailadmin.lib.pagination import TwoEndedPaginator
from tests.factories import MailboxFactory


@pytest.mark.parametrize(("per_page", "orphans"), [(2, 0), (3, 0), (3, 1), (10, 0)])
def test_every_page_matches_plain_offset_slicing(domain, per_page, orphans):
    for i in range(11):
        MailboxFactory(domain=domain, local_part=f"m{i:02d}")
    ordered = list(Mailbox.objects.order_by("address").values_list("address", flat=True))
    paginator = TwoEndedPaginator(Mailbox.objects.order_by("address"), per_page, orphans=orphans)
    seen = []
    for number in paginator.page_range:
        page = paginator.page(number)
        addresses = [m.address for m in page.object_list]
        start = (number - 1) * per_page
        assert addresses == ordered[start : start + len(addresses)]
        seen.extend(addresses)
    assert seen == ordered


def test_late_pages_read_from_the_other_end(domain, django_assert_num_queries):
    for i in range(9):
        MailboxFactory(domain=domain, local_part=f"m{i}")
    paginator = TwoEndedPaginator(Mailbox.objects.order_by("address"), 2)
    assert paginator.count == 9
    with django_assert_num_queries(1) as captured:
        page = paginator.page(5)
        assert [m.local_part for m in page.object_list] == ["m8"]
    assert "DESC" in captured.captured_queries[0]["sql"]
