"""Face benchmark: seconds per enrollment, and 1:N search at 10,000 and 100,000 faces.

Enrollment is the whole path (decode, quality gates, HOG detection, dlib encoding,
terminal photo, encryption, duplicate search, SQLite write) for the fixture photos.
Search runs our vectorised index (hub.face.index.Matrix) and, in the same run over the
same list, face_recognition.compare_faces, the baseline. The population is synthetic:
real encodings plus noise (distances to the query like a real roster's); the query is the
real encoding of obama2.jpg. Also: loading (decrypting) 10,000 enrolled faces from the
store, which the index does once per change.
Usage: python bench/face.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import face_recognition  # noqa: E402
import numpy as np  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hub.config import Settings, set_settings  # noqa: E402
from hub.face import index  # noqa: E402
from hub.face.enroll import enroll  # noqa: E402
from hub.face.quality import analyse  # noqa: E402
from hub.secrets import encrypt  # noqa: E402
from hub.store.db import make_engine, upgrade  # noqa: E402
from hub.store.models import Employee, Template  # noqa: E402

FACES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "faces"
if not FACES.exists():
    FACES = Path("/work/shared/fixtures/faces")
PHOTOS = ["obama.jpg", "obama2.jpg", "biden.jpg"]


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median seconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def population(real: np.ndarray, n: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = real[rng.integers(0, len(real), n)]
    # Noise of sd 0.03-0.08 per dimension moves a vector 0.34-0.9 away: mostly strangers,
    # a few look-alikes within the duplicate threshold (so both methods have hits to agree on).
    sd = rng.uniform(0.03, 0.08, (n, 1))
    return base + rng.normal(0.0, 1.0, (n, 128)) * sd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9, help="enrollments to time")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hub-face-bench-"))
    url = f"sqlite:///{tmp / 'hub.sqlite3'}"
    set_settings(Settings(database_url=url, var_dir=str(tmp / "var"),
                          secret_key=Fernet.generate_key().decode()))
    upgrade(url)
    engine = make_engine(url)

    # --- enrollment, end to end --------------------------------------------------------
    with Session(engine) as s:
        s.add_all([Employee(id_number=f"19900101202012{i:04d}", employment_type="pns",
                            name=f"Pegawai {i}") for i in range(args.repeat)])
        s.commit()
        enroll(s, "199001012020120000", FACES / "obama.jpg", "bench")  # warm-up (models load)
        s.rollback()
        times = []
        for i in range(args.repeat):
            t = time.perf_counter()
            enroll(s, f"19900101202012{i:04d}", FACES / PHOTOS[i % 3], "bench")
            s.commit()
            times.append(time.perf_counter() - t)
    enroll_s = statistics.median(times)
    print(f"enrollment (decode, gates, encode, photo, encrypt, duplicate check, commit), "
          f"{args.repeat} photos: median {enroll_s:.3f} s, max {max(times):.3f} s")

    # --- 1:N search ------------------------------------------------------------------------
    real = np.stack([analyse(FACES / p).encoding for p in PHOTOS])
    query = analyse(FACES / "obama2.jpg").encoding
    figures: dict[str, float] = {}
    for n, label, reps, base_reps in ((10_000, "10k", 200, 20), (100_000, "100k", 50, 5)):
        pop = population(real, n)
        known = list(pop)  # what callers of compare_faces hold: a list of encodings
        t = time.perf_counter()
        matrix = index.Matrix(np.arange(n), pop)
        build = time.perf_counter() - t
        ours = timed(lambda m=matrix: m.search(query, 0.5), reps)
        base = timed(lambda k=known: face_recognition.compare_faces(k, query, 0.5), base_reps)
        hits_ours = {i for i, _ in matrix.search(query, 0.5, k=n)}
        hits_base = set(np.flatnonzero(face_recognition.compare_faces(known, query, 0.5)))
        assert hits_ours == hits_base, "index and compare_faces disagree"
        figures[label] = ours
        figures[f"base_{label}"] = base
        print(f"1:N search over {n:>7,} faces: index {ours * 1000:8.3f} ms "
              f"(matrix built once in {build * 1000:.1f} ms) | face_recognition.compare_faces "
              f"{base * 1000:8.3f} ms | {len(hits_ours)} within 0.5 | "
              f"speed-up x{base / ours:.1f}")

    # --- loading 10,000 encrypted encodings from the store ------------------------------------
    pop = population(real, 10_000, seed=9).astype("<f8")
    with Session(engine) as s:
        s.add_all([Employee(id=100_000 + i, id_number=f"B{i:06d}", employment_type="non_asn",
                            name="x") for i in range(10_000)])
        s.flush()
        s.add_all([Template(employee_id=100_000 + i, kind="face", format=index.FORMAT,
                            blob_enc=encrypt(v.tobytes()), sha256="-", size=1024)
                   for i, v in enumerate(pop)])
        s.commit()
        index.invalidate()
        t = time.perf_counter()
        m = index.enrolled_matrix(s)
        load = time.perf_counter() - t
        t = time.perf_counter()
        index.enrolled_matrix(s)  # cached: only the stamp query
        cached = time.perf_counter() - t
        t = time.perf_counter()
        enroll(s, "199001012020120000", FACES / "obama2.jpg", "bench")
        s.commit()
        enroll_at_10k = time.perf_counter() - t
    print(f"index load from the store ({len(m):,} encrypted encodings, decrypted once): "
          f"{load:.3f} s; cached lookup (stamp query) {cached * 1000:.2f} ms")

    print(f"one more enrollment with {len(m):,} faces enrolled (index updated, not "
          f"reloaded): {enroll_at_10k:.3f} s")
    print(f"enroll_s: {enroll_s:.3f}")
    print(f"enroll_at_10k_s: {enroll_at_10k:.3f}")
    print(f"search_10k_ms: {figures['10k'] * 1000:.3f}")
    print(f"search_100k_ms: {figures['100k'] * 1000:.3f}")
    print(f"baseline_compare_faces_10k_ms: {figures['base_10k'] * 1000:.3f}")
    print(f"baseline_compare_faces_100k_ms: {figures['base_100k'] * 1000:.3f}")
    print(f"speedup_100k: {figures['base_100k'] / figures['100k']:.1f}")
    print(f"index_load_10k_s: {load:.3f}")
    print(f"index_cached_ms: {cached * 1000:.2f}")


if __name__ == "__main__":
    main()
