"""PII scrubbing: the shared cases, hand-picked formats, and hypothesis properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.resume.pii import find_pii, scrub

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
_CASES_FILE = SHARED / "cases" / "pii.jsonl"
_CASES = ([json.loads(x) for x in _CASES_FILE.read_text(encoding="utf-8").splitlines() if x.strip()]
          if _CASES_FILE.is_file() else [])


@pytest.mark.skipif(not _CASES, reason=f"{_CASES_FILE} is absent")
@pytest.mark.parametrize("case", _CASES, ids=[c["id"] for c in _CASES])
def test_shared_pii_case(case):
    out = scrub(case["text"])
    for value in case["must_not_contain"]:
        assert value not in out, f"{case['id']}: {value!r} survived in {out!r}"
    for value in case["must_contain"]:
        assert value in out, f"{case['id']}: {value!r} was removed from {out!r}"


@pytest.mark.parametrize("text, secret", [
    ("Email maya.ok.lindqvist@example.com today", "maya.ok.lindqvist@example.com"),
    ("call +46 70 123 45 67", "123 45 67"),
    ("call (415) 555-0142", "555-0142"),
    ("call 415-555-0142", "555-0142"),
    ("call 415.555.0142", "555.0142"),
    ("call +1 415 555 0142", "555 0142"),
    ("call +49 (0)30 1234 5678", "1234 5678"),
    ("see https://mayaokonkwo.dev/about.", "mayaokonkwo.dev"),
    ("see www.example.org", "example.org"),
    ("code at github.com/maya-okl", "maya-okl"),
    ("linkedin.com/in/maya-okonkwo-lindqvist", "maya-okonkwo"),
    ("GitHub: maya-okl", "maya-okl"),
    ("ping @mayabuilds", "mayabuilds"),
    ("1428 Harbor View Lane, Apt 5B, Seattle, WA 98101", "1428 Harbor"),
    ("2712 Broadway St, San Francisco CA 94115", "Broadway"),
    ("Storgatan 12, 411 38 Göteborg", "Storgatan"),
])
def test_pii_formats_are_scrubbed(text, secret):
    out = scrub(text)
    assert secret not in out
    assert secret in " ".join(find_pii(text))


@pytest.mark.parametrize("text", [
    "Sept 2018 – May 2023", "2021-03 – present", "2014-08 - 2016-06", "2013-12-01", "GPA 3.97/4.00",
    "99.97% uptime", "cited 340+ times", "2M+ requests", "1,300+ teams", "US Patent 11,234,567",
    "doi 10.1234/neurips.2023.1234", "Dean's List 2019 2020 2021", "Node.js and scikit-learn",
    "latency of 12 ms on 3 cores", "0.91 macro F1",
])
def test_resume_numbers_survive(text):
    assert scrub(text) == text
    assert find_pii(text) == []


def test_sentences_stay_readable():
    assert scrub("Call me at +44 20 7946 0958 or write to j.doe@example.co.uk.") == \
        "Call me at [phone] or write to [email]."


_local = st.from_regex(r"[a-z][a-z0-9._+-]{0,15}[a-z0-9]", fullmatch=True)
_domain = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]\.(com|org|net|io|co\.uk|se|dev)", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(email=st.emails())
def test_generated_emails_are_scrubbed(email):
    out = scrub(f"Contact: {email} (any time)")
    assert email not in out
    assert "[email]" in out


@settings(max_examples=150, deadline=None)
@given(local=_local, domain=_domain, prefix=st.sampled_from(["", "Mail ", "write to "]))
def test_generated_plain_emails_are_scrubbed(local, domain, prefix):
    email = f"{local}@{domain}"
    assert email not in scrub(f"{prefix}{email}.")


_PHONE_FORMATS = ["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "+1 {a} {b} {c}", "+1-{a}-{b}-{c}",
                  "+44 20 {b}{c1} {c}", "+46 70 {b} {c2} {c3}", "+49 (0)30 {b}{c1} {c}"]


@settings(max_examples=200, deadline=None)
@given(fmt=st.sampled_from(_PHONE_FORMATS), a=st.integers(200, 999), b=st.integers(200, 999),
       c=st.integers(0, 9999), c1=st.integers(0, 9), c2=st.integers(10, 99), c3=st.integers(10, 99),
       context=st.sampled_from(["Call {} now", "Phone: {}", "{} (mobile)", "reach me at {}."]))
def test_generated_phones_are_scrubbed(fmt, a, b, c, c1, c2, c3, context):
    phone = fmt.format(a=a, b=b, c=f"{c:04d}", c1=c1, c2=c2, c3=c3)
    out = scrub(context.format(phone))
    assert phone not in out
    assert f"{c:04d}" not in out or f"{c:04d}" in context
    assert "[phone]" in out


_texts = st.text(alphabet=st.sampled_from(list("abcXYZ019 .,:;@/+-()#%\n·–")), max_size=80)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(_texts, st.text(max_size=60)), email=st.emails())
def test_scrub_is_idempotent(text, email):
    once = scrub(f"{text} {email} {text}")
    assert scrub(once) == once
    assert scrub(scrub(text)) == scrub(text)


@settings(max_examples=200, deadline=None)
@given(year=st.integers(1990, 2030), end=st.integers(1990, 2030), month=st.integers(1, 12),
       pct=st.floats(0, 100, allow_nan=False).map(lambda x: f"{x:.1f}%"),
       count=st.integers(1, 999), unit=st.sampled_from(["", "K", "M"]),
       gpa=st.floats(2.0, 4.0).map(lambda x: f"{x:.2f}/4.00"))
def test_resume_numbers_always_survive(year, end, month, pct, count, unit, gpa):
    text = (f"{year}-{month:02d} – {end}; {year} - {end}; GPA {gpa}; grew {pct}; "
            f"served {count}{unit}+ users")
    out = scrub(text)
    for token in (f"{year}-{month:02d}", str(end), gpa, pct, f"{count}{unit}+"):
        assert token in out
