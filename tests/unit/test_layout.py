"""Every source module has its unit test module, found by its name (rule in tests/README.md):
``src/platform_adapter/<path>/<module>.py`` -> ``tests/unit/<path>/test_<module>.py``; more test
modules of the same source module are ``test_<module>_<topic>.py`` next to it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "platform_adapter"
UNIT = ROOT / "tests" / "unit"

# Source modules (or whole packages, ending in "/") whose tests live in another suite.
ELSEWHERE = {
    "sim/": "the simulated gateway is tested over TCP against ibapi and ib_async in tests/sim/",
    "service/": "the service runs as processes over ZeroMQ in tests/service/",
    "remote/": "the remote adapter is tested against a running service in tests/service/",
    "main.py": "the entry point runs as a process in tests/e2e/test_main_commands.py and test_shell.py",
    "core/connection_manager.py": "connects over real TCP to the simulator in tests/integration/test_connection*.py",
}
def _sources() -> list[Path]:
    paths = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if path.name in ("__init__.py", "__main__.py") or "/data/" in f"/{rel}":
            continue
        if rel in ELSEWHERE or any(rel.startswith(p) for p in ELSEWHERE if p.endswith("/")):
            continue
        paths.append(path.relative_to(SRC))
    return paths


def expected_test(source: Path) -> Path:
    """``adapters/orders/journal.py`` -> ``tests/unit/adapters/orders/test_journal.py``."""
    return UNIT / source.parent / f"test_{source.stem}.py"


def test_every_source_module_has_a_unit_test_module_named_after_it() -> None:
    missing = [(s, expected_test(s)) for s in _sources() if not expected_test(s).is_file()]
    assert not missing, "\n".join(
        [f"{len(missing)} source module(s) without a unit test module; create:"]
        + [f"  {t.relative_to(ROOT)}  (tests src/platform_adapter/{s})" for s, t in missing])


def test_every_unit_test_module_is_named_after_a_source_module() -> None:
    strays = []
    for test in sorted(UNIT.rglob("test_*.py")):
        rel = test.relative_to(UNIT)
        if rel == Path("test_layout.py"):
            continue
        folder = SRC / rel.parent
        stems = {p.stem for p in folder.glob("*.py")} - {"__init__", "__main__"} if folder.is_dir() else set()
        name = test.stem.removeprefix("test_")
        if not any(name == s or name.startswith(f"{s}_") for s in stems):
            where = f"src/platform_adapter/{rel.parent.as_posix()}/".replace("/./", "/")
            strays.append(f"  tests/unit/{rel.as_posix()}: {where} has no module {name}.py (nor one its name starts "
                          "with); name it test_<module>.py or test_<module>_<topic>.py in the folder mirroring "
                          "the module's package")
    assert not strays, "unit test modules not named after a source module:\n" + "\n".join(strays)


def test_the_rule_and_its_exceptions() -> None:
    assert expected_test(Path("adapters/orders/journal.py")) == UNIT / "adapters/orders/test_journal.py"
    assert expected_test(Path("facade.py")) == UNIT / "test_facade.py"
    assert all((SRC / k).exists() for k in ELSEWHERE), "an ELSEWHERE entry names nothing: remove it"
