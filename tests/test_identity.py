"""NIP / NI PPPK / non-ASN code validation (asn-rules.md §4)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.roster.identity import IdentityError, validate_identity, validate_ni_pppk, validate_nip


def test_valid_nip_with_display_spaces() -> None:
    assert validate_nip("19860926 201505 1 001") == "198609262015051001"


@pytest.mark.parametrize("nip, why", [
    ("19860926201505100", "18 digit"),          # 17 digits
    ("198609262015053001", "18 digit"),         # gender 3
    ("198602302015051001", "tanggal lahir"),    # 30 February
    ("198609262015131001", "bulan TMT"),        # month 13
    ("198609261990051001", "tahun TMT"),        # appointed at 3 years old
])
def test_invalid_nips_say_why(nip: str, why: str) -> None:
    with pytest.raises(IdentityError, match=why):
        validate_nip(nip)


def test_ni_pppk() -> None:
    assert validate_ni_pppk("19900913 2025 24 2 014") == "199009132025242014"
    with pytest.raises(IdentityError):
        validate_ni_pppk("199009132010242014")  # PPPK before 2019


def test_non_asn_code_and_unknown_type() -> None:
    assert validate_identity("THL-0042", "non_asn") == "THL-0042"
    with pytest.raises(IdentityError, match="jenis pegawai"):
        validate_identity("198609262015051001", "tentara")


@st.composite
def nips(draw) -> str:
    born = draw(st.dates(min_value=date(1960, 1, 1), max_value=date(2000, 12, 31)))
    tmt_year = draw(st.integers(born.year + 18, min(born.year + 40, date.today().year)))
    month = draw(st.integers(1, 12))
    gender = draw(st.sampled_from("12"))
    seq = draw(st.integers(1, 999))
    return f"{born:%Y%m%d}{tmt_year}{month:02d}{gender}{seq:03d}"


@given(nips())
def test_generated_nips_validate(nip: str) -> None:
    assert validate_nip(nip) == nip
    assert validate_identity(f"{nip[:8]} {nip[8:14]} {nip[14]} {nip[15:]}", "pns") == nip


@given(st.text(max_size=40), st.sampled_from(["pns", "cpns", "pppk", "pppk_pw", "non_asn", "x"]))
def test_validation_never_crashes(text: str, kind: str) -> None:
    try:
        out = validate_identity(text, kind)
    except IdentityError as exc:
        assert str(exc)
    else:
        assert out
