"""The roster importer on arbitrary files: a clear error per row or per file, never a crash."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.roster.importer import ImportFileError, parse_row, read_rows

cell = st.one_of(st.text(max_size=30), st.integers(-10**20, 10**20).map(str),
                 st.floats(allow_nan=True).map(str), st.just(""))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(cell, max_size=8), max_size=12))
def test_read_rows_never_crashes(rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerows([["NIP", "NAMA", "STATUS", "OPD", "TPP"]] + rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        try:
            for number, values in read_rows(path):
                assert number >= 2
                try:
                    parsed = parse_row(values, {"OPD1": 1})
                except ValueError as exc:
                    assert str(exc)
                else:
                    assert parsed["id_number"] and parsed["name"]
        except ImportFileError as exc:
            assert str(exc)


@settings(max_examples=100)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_csv(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.csv"
        path.write_bytes(data)
        try:
            list(read_rows(path))
        except ImportFileError as exc:
            assert str(exc)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(cell, max_size=7), max_size=10))
def test_leave_file_reader_never_crashes(rows: list[list[str]]) -> None:
    from hub.reconcile.leave_import import _rows

    buf = io.StringIO()
    csv.writer(buf).writerows([["NIP", "DARI", "SAMPAI", "JENIS", "NOMOR SURAT"]] + rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cuti.csv"
        path.write_text(buf.getvalue(), encoding="utf-8")
        try:
            header, mapping, out = _rows(path)
        except ImportFileError as exc:
            assert str(exc)
        else:
            assert set(mapping.values()) >= {"nip", "start", "kind"} and all(n >= 2 for n, _ in out)
