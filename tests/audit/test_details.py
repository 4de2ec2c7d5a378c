from __future__ import annotations

from audit.templatetags.audit_tags import DetailLine, detail_lines, target_kind


def test_changes_read_old_to_new_and_other_values_as_is():
    lines = detail_lines(
        {
            "quota_bytes": {"old": 1, "new": 2},
            "is_active": {"old": True, "new": False},
            "destinations": {"old": ["a@x.test"], "new": []},
            "reason": "left the company",
            "note": None,
        }
    )

    assert lines == [
        DetailLine("destinations", "a@x.test", "—", True),
        DetailLine("is_active", "yes", "no", True),
        DetailLine("note", "", "—", False),
        DetailLine("quota_bytes", "1", "2", True),
        DetailLine("reason", "", "left the company", False),
    ]


def test_unexpected_shapes_still_render():
    assert detail_lines({}) == []
    assert detail_lines(None) == []
    assert detail_lines(["x"]) == [DetailLine("", "", "x", False)]
    assert detail_lines({"nested": {"a": 1}}) == [DetailLine("nested", "", '{"a": 1}', False)]


def test_long_values_are_shortened():
    (line,) = detail_lines({"text": "y" * 500})
    assert len(line.new) == 200
    assert line.new.endswith("…")


def test_target_kind_is_the_model_name():
    assert target_kind("accounts.mailbox") == "mailbox"
    assert target_kind("policies.pop3_exception") == "pop3 exception"


def test_created_and_changes_records_get_a_line_per_field():
    lines = detail_lines(
        {
            "created": {"address": "a@x.test", "is_active": True},
            "changes": {"q": {"old": 1, "new": 2}},
        }
    )
    assert lines == [
        DetailLine("q", "1", "2", True),
        DetailLine("address", "", "a@x.test", False),
        DetailLine("is_active", "", "yes", False),
    ]
