"""The house has no import loops (issue 18): every import in hub/, at the top of a module or
inside a function, read from the source; a loop anywhere fails with the modules that form it."""

from __future__ import annotations

import ast
from pathlib import Path

HUB = Path(__file__).resolve().parent.parent / "hub"


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in found if m in modules}


def import_loops(root: Path = HUB) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    modules = _modules(root)
    graph = {m: _imports(p, modules) - {m} for m, p in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    loops: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                loops.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return loops


def test_no_import_loops_in_hub() -> None:
    assert import_loops() == []


def test_the_loop_finder_finds_a_loop(tmp_path: Path) -> None:
    pkg = tmp_path / "hub"
    (pkg / "a").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("def f():\n    from hub.a import y\n")
    (pkg / "a" / "y.py").write_text("from hub.a.x import f\n")
    (pkg / "z.py").write_text("import hub.a.x\n")
    assert import_loops(pkg) == [["hub.a.x", "hub.a.y"]]  # a loop through a function's import too


def test_without_the_face_extra_the_hub_runs_and_says_what_to_install(tmp_path: Path) -> None:
    """Required parts are imported plainly; the face extra alone is optional. Its absence
    (face_recognition made unimportable in a child interpreter) leaves the console and the
    ADMS endpoints up, the face routes out, and an error naming the install command."""
    import subprocess
    import sys

    code = (
        "import logging, os, sys\n"
        "sys.modules['face_recognition'] = None\n"
        "logging.basicConfig(level=logging.ERROR)\n"
        "from fastapi.testclient import TestClient\n"
        "from hub.config import load_settings\n"
        "from hub.service.runner import HubState, build_app\n"
        "from hub.store.db import upgrade\n"
        "upgrade(os.environ['HUB_DATABASE_URL'])\n"
        "state = HubState()\n"
        "c = TestClient(build_app(load_settings(), state))\n"
        "print('ADMS', c.get('/iclock/cdata', params={'SN': 'X1', 'options': 'all'}).status_code)\n"
        "print('FACEAPI', c.post('/api/face/enroll').status_code)\n"
        "print('FACE', state.components['face'])\n"
    )
    env = {"HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}", "HUB_VAR_DIR": str(tmp_path / "var"),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=HUB.parent, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ADMS 200" in done.stdout and "FACEAPI 404" in done.stdout, done.stdout
    assert "FACE absent: install the face extra" in done.stdout
    assert "face endpoints not mounted" in done.stderr and "./run hub --help" in done.stderr


def test_one_ingest_run_recorder() -> None:
    """Ingest runs are written in hub/store/runs.py only (every path records them alike)."""
    writers = sorted(str(p.relative_to(HUB.parent)) for p in HUB.rglob("*.py")
                     if "insert(IngestRun)" in (text := p.read_text(encoding="utf-8"))
                     or "update(IngestRun)" in text or "IngestRun(" in text)
    assert writers == ["hub/store/models.py", "hub/store/runs.py"]  # (models: the class itself)


def test_wire_formats_stay_in_protocols_adapters_and_simulators() -> None:
    """Only hub/protocols, the device adapters and the simulators import a wire codec; the
    core (sync, push, roster, cli, ...) speaks the command vocabulary of hub/commands.py."""
    modules = _modules(HUB)
    allowed = ("hub.protocols", "hub.adapters", "hub.simulator")
    leaks = sorted(f"{name} -> {m}" for name, path in modules.items() if not name.startswith(allowed)
                   for m in _imports(path, modules) if m.startswith("hub.protocols"))
    assert leaks == []


def test_the_wire_check_sees_a_function_level_import(tmp_path: Path) -> None:
    pkg = tmp_path / "hub"
    (pkg / "protocols").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "protocols" / "__init__.py").write_text("")
    (pkg / "protocols" / "zk.py").write_text("")
    (pkg / "cli.py").write_text("def f():\n    from hub.protocols import zk\n")
    modules = _modules(pkg)
    assert _imports(pkg / "cli.py", modules) == {"hub.protocols", "hub.protocols.zk"}


def test_each_device_family_normalises_in_one_place() -> None:
    """A canonical punch is built in its family's normalise step only (zk, adms, mqtt, usb,
    isapi), and by the phone's check-in; ZK's state/verify numbering is one table in hub/protocols."""
    builders = sorted(str(p.relative_to(HUB.parent)) for p in HUB.rglob("*.py")
                      if " Punch(" in (text := p.read_text(encoding="utf-8")) or "[Punch(" in text
                      or "(Punch(" in text)
    builders = [b for b in builders if not b.startswith("hub/simulator/")]
    assert builders == ["hub/adapters/adms/normalise.py", "hub/adapters/isapi/normalise.py",
                        "hub/adapters/mqtt/normalise.py",
                        "hub/adapters/usb/normalise.py", "hub/adapters/zk/normalise.py", "hub/face/mobile.py"]
    families = {p.name for p in (HUB / "adapters").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert {f for f in families if (HUB / "adapters" / f / "normalise.py").exists()} == families
    tables = [str(p.relative_to(HUB.parent)) for p in HUB.rglob("*.py") if "ZK_VERIFY = {" in p.read_text("utf-8")]
    assert tables == ["hub/protocols/zk_codes.py"]
