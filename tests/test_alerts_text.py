"""The notebook card and the log line show registry text as it is: hidden characters escaped,
names isolated left-to-right, long ones cut with the full text on hover."""

from __future__ import annotations

import html

import pytest

from ddas.alerts.card import render_html, render_text
from ddas.alerts.text import cut, shown, visible
from ddas.records import CopyInfo

SPOOF = "report_\u202egpj.exe"


@pytest.mark.parametrize(
    ("raw", "shown_as"),
    [
        (SPOOF, "report_\\u202egpj.exe"),
        ("era5\u200b_2020.nc", "era5\\u200b_2020.nc"),
        (
            "a\u2066b\u2069c\u200e\u200f\u061c\ufeff\u2060",
            "a\\u2066b\\u2069c\\u200e\\u200f\\u061c\\ufeff\\u2060",
        ),
        ("tab\there\x85", "tab\\u0009here\\u0085"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("plain é 数据 ملف.csv", "plain é 数据 ملف.csv"),
    ],
)
def test_visible_escapes_what_hides_or_reorders(raw, shown_as):
    assert visible(raw) == shown_as


def test_long_text_is_cut_in_the_middle():
    long = "L" * 20_000 + ".csv"
    assert len(cut(long)) == 200 and cut(long).endswith("L.csv") and "…" in cut(long)
    assert cut("short") == "short"


def copy(location: str, owner: str) -> CopyInfo:
    return CopyInfo(
        id=1,
        content_id=1,
        host="h",
        location=location,
        owner=owner,
        state="present",
        size=10,
        blake3="ab" * 32,
        created=0.0,
        verified_at=None,
        in_store=False,
    )


def test_the_card_and_the_log_line_cannot_be_spoofed():
    long = "L" * 20_000 + ".csv"
    copies = [copy(f"/data/in\u202ebox/{SPOOF}", "mal\u200blory")]
    card = render_html("reuse", SPOOF, f"https://h/{long}", "mal\u200blory has it", copies, 10, 0)
    assert "\u202e" not in card and "\u200b" not in card
    assert "<bdi dir='ltr' title='report_\\u202egpj.exe'>report_\\u202egpj.exe</bdi>" in card
    assert f"title='https://h/{long}'" in card and long not in html.unescape(
        card.replace(f"title='https://h/{long}'", "")
    )
    line = render_text("reuse", SPOOF, "mal\u200blory has it", copies)
    assert line.startswith(
        "DDAS: report_\\u202egpj.exe: mal\\u200blory has it — /data/in\\u202ebox/"
    )
    assert (
        shown(long) in render_text("reuse", long, "m", [])
        and len(render_text("reuse", long, "m", [])) < 300
    )
