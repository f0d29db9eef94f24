"""1:N face search over every enrolled encoding, vectorised with numpy.

The encodings are decrypted once per process and kept as one float32 matrix; the cache is
dropped when this process enrolls (invalidate) and reloaded when the templates table says
it changed elsewhere (count and newest update, one cheap query per search).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.secrets import decrypt
from hub.store.models import Template

FORMAT = "dlib128"


def to_blob(encoding: np.ndarray) -> bytes:
    return np.asarray(encoding, dtype="<f8").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    if len(blob) != 128 * 8:
        raise ValueError(f"face encoding of {len(blob)} bytes, expected 1024")
    return np.frombuffer(blob, dtype="<f8")


class Matrix:
    """Enrolled faces as a matrix; distances by |m|^2 - 2 m.q + |q|^2 (one BLAS call)."""

    def __init__(self, employee_ids: np.ndarray, vectors: np.ndarray) -> None:
        self.employee_ids = employee_ids.astype(np.int64)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, 128)
        self.sq_norms = np.einsum("ij,ij->i", self.vectors, self.vectors)

    def __len__(self) -> int:
        return len(self.employee_ids)

    def distances(self, query: np.ndarray) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32)
        d2 = self.sq_norms - 2.0 * (self.vectors @ q) + float(q @ q)
        return np.sqrt(np.maximum(d2, 0.0))

    def search(self, query: np.ndarray, threshold: float, k: int = 10,
               exclude: int | None = None) -> list[tuple[int, float]]:
        """Up to k (employee_id, distance) within threshold, nearest first."""
        if not len(self):
            return []
        d = self.distances(query)
        if exclude is not None:
            d = np.where(self.employee_ids == exclude, np.inf, d)
        hits = np.flatnonzero(d <= threshold)
        if len(hits) > k:
            hits = hits[np.argpartition(d[hits], k)[:k]]
        hits = hits[np.argsort(d[hits])]
        return [(int(self.employee_ids[i]), float(d[i])) for i in hits]


@dataclass
class _Entry:
    stamp: tuple[Any, ...]
    matrix: Matrix


_cache: dict[str, _Entry] = {}
_lock = threading.Lock()


def _key(session: Session) -> str:
    return str(session.get_bind().engine.url)


def _stamp(session: Session) -> tuple[Any, ...]:
    row = session.execute(select(func.count(Template.id), func.max(Template.updated_at),
                                 func.max(Template.id))
                          .where(Template.kind == "face", Template.format == FORMAT)).one()
    return tuple(row)


def load_matrix(session: Session) -> Matrix:
    rows = session.execute(select(Template.employee_id, Template.blob_enc)
                           .where(Template.kind == "face", Template.format == FORMAT,
                                  Template.valid_flag == 1)).all()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.empty((len(rows), 128), dtype=np.float32)
    for i, r in enumerate(rows):
        vectors[i] = from_blob(decrypt(r[1]))
    return Matrix(ids, vectors)


def enrolled_matrix(session: Session) -> Matrix:
    """The cached matrix of this database, reloaded when the templates changed."""
    key = _key(session)
    stamp = _stamp(session)
    with _lock:
        entry = _cache.get(key)
        if entry is not None and entry.stamp == stamp:
            return entry.matrix
    matrix = load_matrix(session)
    with _lock:
        _cache[key] = _Entry(stamp, matrix)
    return matrix


def record_enrollment(session: Session, employee_id: int, encoding: np.ndarray,
                      before: tuple[Any, ...] | None) -> None:
    """Put a just-written encoding into the cached matrix instead of reloading everything.

    `before` is the stamp the cache was valid for; if the table moved by more than this
    one write (someone else enrolled meanwhile), the cache is dropped and reloaded later.
    A rolled-back write changes the stamp back, so the next search reloads too.
    """
    key = _key(session)
    stamp = _stamp(session)
    with _lock:
        entry = _cache.get(key)
        if entry is None or before is None or entry.stamp != before:
            _cache.pop(key, None)
            return
        m = entry.matrix
        keep = m.employee_ids != employee_id
        grew = int(not bool((~keep).any()))
        if stamp[0] != before[0] + grew:
            _cache.pop(key, None)
            return
        vectors = np.vstack([m.vectors[keep], np.asarray(encoding, np.float32)[None, :]])
        ids = np.append(m.employee_ids[keep], employee_id)
        _cache[key] = _Entry(stamp, Matrix(ids, vectors))


def current_stamp(session: Session) -> tuple[Any, ...] | None:
    with _lock:
        entry = _cache.get(_key(session))
    return None if entry is None else entry.stamp


def invalidate(session: Session | None = None) -> None:
    with _lock:
        if session is None:
            _cache.clear()
        else:
            _cache.pop(_key(session), None)
