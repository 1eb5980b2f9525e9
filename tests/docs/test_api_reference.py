"""docs/api_reference.md against the code: every method it lists exists with the documented
parameter names, kinds and defaults, every attribute it lists exists, and every public method
(and property) of ``PlatformAdapter`` and of its ``market_data``, ``orders``, ``account`` and
``contracts`` adapters is listed (but for the library's own hooks, below).

A row's first cell holds the members, as code spans: ``name(params) -> result`` for a method
(``*`` and ``**kwargs`` as in Python; no ``...``), ``name`` for an attribute or a property.
Defaults are Python expressions, evaluated in the method's module (``OcaType.CANCEL_WITH_BLOCK``,
``ACCEPTED``)."""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from platform_adapter.adapters.account_manager import AccountManager
from platform_adapter.adapters.contracts import ContractResolver
from platform_adapter.adapters.market_data import MarketDataAdapter
from platform_adapter.adapters.order_execution import OrderExecutionAdapter
from platform_adapter.config.settings import load_settings
from platform_adapter.core.connection_manager import ConnectionManager
from platform_adapter.facade import PlatformAdapter
from tests.docs.markdown import read, section, tables, ticked

REFERENCE = "docs/api_reference.md"
SECTIONS: dict[str, tuple[type, str]] = {  # heading -> (class, the attribute of PlatformAdapter that holds one)
    "## PlatformAdapter": (PlatformAdapter, ""),
    "## ConnectionManager (`pa.connection`)": (ConnectionManager, "connection"),
    "## ContractResolver (`pa.contracts`)": (ContractResolver, "contracts"),
    "## MarketDataAdapter (`pa.market_data`)": (MarketDataAdapter, "market_data"),
    "## OrderExecutionAdapter (`pa.orders`)": (OrderExecutionAdapter, "orders"),
    "## AccountManager (`pa.account`)": (AccountManager, "account"),
}
# The library's own hooks, public for its other modules (core/lifecycle.py, the wrapper, the
# reconciler, the service) and not user API: they need not be in the reference.
_ADAPTER = {"start", "stop", "contracts"}  # every adapter: started and stopped by the facade; its resolver
INTERNAL: dict[type, set[str]] = {
    MarketDataAdapter: _ADAPTER | {"check_stale", "data_farm", "link_lost", "link_restored", "restore",
                                   "resubscribe_all", "socket_lost"},
    OrderExecutionAdapter: _ADAPTER | {"accept_next_valid_id", "apply_fills", "listen_new_orders", "listen_status",
                                       "match", "open_journal", "reconcile_after", "remember_ids",
                                       "request_completed_orders", "request_executions", "request_open_orders",
                                       "sent_before", "set_error", "set_state", "sync_ids"},
    AccountManager: _ADAPTER | {"restore"},
    ContractResolver: {"contracts", "remember", "info_from_details", "ib_contract"},
    PlatformAdapter: set(),
}
_SIGNATURE = re.compile(r"^(?P<name>\w+)\((?P<params>.*)\)(\s*->.*)?$")


def rows(heading: str) -> list[list[str]]:
    found = [row for table in tables(section(read(REFERENCE), heading)) for row in table[1:]]
    assert found, f"{REFERENCE}: no table under {heading!r}"
    return found


def members(heading: str) -> dict[str, str]:
    """Name -> the code span that documents it (a signature, or the bare name)."""
    out: dict[str, str] = {}
    for cells in rows(heading):
        if cells[0] == "context manager":
            out["__enter__"] = out["__exit__"] = "context manager"
            continue
        for span in ticked(cells[0]):
            match = _SIGNATURE.match(span)
            name = match.group("name") if match else span
            assert name.isidentifier(), f"{REFERENCE} {heading}: {span!r} is neither a signature nor a name"
            assert name not in out, f"{REFERENCE} {heading}: {name} is documented twice"
            out[name] = span
    return out


def documented_params(span: str, where: Any) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of each parameter of a documented signature; defaults evaluated in
    ``where``'s module."""
    params = _SIGNATURE.match(span).group("params")  # type: ignore[union-attr]
    assert "..." not in params, f"{span!r}: write the whole parameter list (no '...')"
    fn = ast.parse(f"def f({params}): pass").body[0].args  # type: ignore[attr-defined]
    namespace = {**vars(inspect.getmodule(where)), **vars(__import__("platform_adapter"))}

    def value(node: ast.expr | None) -> Any:
        if node is None:
            return inspect.Parameter.empty
        return eval(compile(ast.Expression(node), span, "eval"), namespace)  # noqa: S307 - our own docs

    out: list[tuple[str, Any, Any]] = []
    positional = fn.posonlyargs + fn.args
    defaults = [None] * (len(positional) - len(fn.defaults)) + list(fn.defaults)
    out += [(a.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD, value(d)) for a, d in zip(positional, defaults,
                                                                                        strict=True)]
    if fn.vararg:
        out.append((fn.vararg.arg, inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.empty))
    out += [(a.arg, inspect.Parameter.KEYWORD_ONLY, value(d)) for a, d in zip(fn.kwonlyargs, fn.kw_defaults,
                                                                             strict=True)]
    if fn.kwarg:
        out.append((fn.kwarg.arg, inspect.Parameter.VAR_KEYWORD, inspect.Parameter.empty))
    return out


def real_params(fn: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if p.name != "self"]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory: pytest.TempPathFactory) -> PlatformAdapter:
    """A facade that is never connected: its parts are there to be looked at."""
    tmp: Path = tmp_path_factory.mktemp("api")
    settings = load_settings(None, env_file="/dev/null", use_environ=False,
                             overrides={"logging.log_dir": str(tmp / "logs"), "logging.console": False,
                                        "orders.journal_path": str(tmp / "orders.db")})
    return PlatformAdapter(settings=settings, configure_logging=False)


@pytest.mark.parametrize("heading", list(SECTIONS))
def test_every_documented_member_exists_as_documented(heading: str, adapter: PlatformAdapter) -> None:
    cls, attribute = SECTIONS[heading]
    instance = getattr(adapter, attribute) if attribute else adapter
    assert type(instance) is cls
    wrong = []
    for name, span in members(heading).items():
        if not hasattr(instance, name):
            wrong.append(f"{name}: no such member of {cls.__name__}")
            continue
        if span == "context manager" or not _SIGNATURE.match(span):
            continue  # an attribute or a property: it exists
        real = getattr(cls, name, None)
        if not callable(real):
            wrong.append(f"{span}: {cls.__name__}.{name} is not a method")
        elif documented_params(span, real) != real_params(real):
            wrong.append(f"{span}\n      code: {name}{inspect.signature(real)}")
    assert not wrong, f"{REFERENCE} {heading}:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("heading", [h for h, (cls, _) in SECTIONS.items() if cls in INTERNAL])
def test_every_public_method_is_documented(heading: str) -> None:
    cls = SECTIONS[heading][0]
    public = {name for name, value in inspect.getmembers(cls)
              if not name.startswith("_") and (callable(value) or isinstance(value, property))}
    internal = INTERNAL[cls]
    assert internal <= public, f"stale INTERNAL names of {cls.__name__}: {sorted(internal - public)}"
    missing = sorted(public - internal - set(members(heading)))
    assert not missing, f"{REFERENCE} {heading} does not document {missing}"


def test_the_facades_parts_are_the_documented_classes(adapter: PlatformAdapter) -> None:
    """``market_data | MarketDataAdapter``: the row of an attribute names its class first."""
    for cells in rows("## PlatformAdapter"):
        names, description = ticked(cells[0]), ticked(cells[1])
        if len(names) == 1 and names[0].isidentifier() and description and description[0][:1].isupper():
            assert type(getattr(adapter, names[0])).__name__ == description[0], names[0]


def test_the_constructor_is_documented_as_it_is() -> None:
    text = section(read(REFERENCE), "## PlatformAdapter")
    match = re.search(r"^```\w*\n(PlatformAdapter\(.*\))\n```", text, re.M)
    assert match, "no PlatformAdapter(...) signature block"
    span = match.group(1)
    assert documented_params(span, PlatformAdapter.__init__) == real_params(PlatformAdapter.__init__)


def test_documented_params_reads_every_kind() -> None:
    def f(a: Any, b: int = 2, *args: Any, c: Any = None, **kw: Any) -> None: ...
    assert documented_params("f(a, b=2, *args, c=None, **kw) -> None", f) == real_params(f)
    assert documented_params("f(a, b=3, *args, c=None, **kw)", f) != real_params(f)
    with pytest.raises(AssertionError, match="whole parameter list"):
        documented_params("f(..., c=None)", f)


# --- models and errors --------------------------------------------------------------------------------
MODELS = "## Models (frozen dataclasses, `platform_adapter.models`)"
# Fields the Models table need not name: the adapter's own bookkeeping, not data for the user.
UNDOCUMENTED_FIELDS = {
    ("Quote", "updated_monotonic"),  # the adapter's clock of the last update, behind `age` and `stale`
}


def _words(span: str) -> list[str]:
    return re.findall(r"[A-Za-z_]\w*", span)


def test_every_model_is_in_platform_adapter_models_with_its_fields_documented() -> None:
    import platform_adapter.models as models

    wrong = []
    for cells in rows(MODELS):
        name = cells[0].strip("`")
        cls = getattr(models, name, None)
        if cls is None:
            wrong.append(f"{name}: not in platform_adapter.models")
            continue
        spans = ticked(cells[1])
        named = {w for span in spans for w in _words(span)}
        if dataclasses.is_dataclass(cls):
            fields = [f.name for f in dataclasses.fields(cls)]
            missing = [f for f in fields if f not in named and (name, f) not in UNDOCUMENTED_FIELDS]
            unknown = [w for w in _words(spans[0]) if w[0].islower() and w not in fields and not hasattr(cls, w)]
            if missing or unknown:
                wrong.append(f"{name}: fields not documented {missing}, documented but absent {unknown}")
        elif isinstance(cls, enum.EnumMeta):
            missing = [m.name for m in cls if m.name not in named]  # type: ignore[var-annotated]
            if missing:
                wrong.append(f"{name}: members not documented {missing}")
    assert not wrong, f"{REFERENCE} {MODELS}:\n  " + "\n  ".join(wrong)


ERRORS = "## Errors"


def test_every_error_is_in_the_table_importable_and_built_as_documented() -> None:
    import platform_adapter
    import platform_adapter.errors as errors

    real = {name for name, value in vars(errors).items()
            if isinstance(value, type) and issubclass(value, errors.PlatformAdapterError)}
    documented: dict[str, str] = {}
    for cells in rows(ERRORS):
        for span in ticked(cells[0]):
            documented[span.partition("(")[0]] = span
    assert set(documented) == real, f"{REFERENCE} {ERRORS}: missing {sorted(real - set(documented))}, " \
                                    f"not errors {sorted(set(documented) - real)}"
    not_exported = sorted(name for name in real if getattr(platform_adapter, name, None) is not getattr(errors, name))
    assert not not_exported, f"errors not importable from platform_adapter: {not_exported}"
    for name, span in documented.items():
        if "(" in span:
            init = getattr(errors, name).__init__
            assert documented_params(span, init) == real_params(init), f"{span} vs {name}{inspect.signature(init)}"


# --- signatures in the prose of the Metrics and Shell sections ----------------------------------------
def _prose_targets() -> dict[str, Any]:
    from platform_adapter import main
    from platform_adapter.cli.shell import Shell
    from platform_adapter.core.metrics import Metrics
    from platform_adapter.core.metrics_exporter import MetricsExporter

    return {"MetricsExporter": MetricsExporter.__init__, "Shell": Shell.__init__, "run_lines": Shell.run_lines,
            "run_interactive": Shell.run_interactive, "main": main.main, "incr": Metrics.incr,
            "observe": Metrics.observe, "set_gauge": Metrics.set_gauge, "rate": Metrics.rate}


@pytest.mark.parametrize("heading", ["## Metrics", "## Shell (`platform_adapter.cli`)"])
def test_the_signatures_in_the_prose_are_the_codes(heading: str) -> None:
    targets, checked = _prose_targets(), []
    text = " ".join(section(read(REFERENCE), heading).split())
    for span in ticked(text):
        match = _SIGNATURE.match(re.sub(r"^[\w.]*\.(?=\w+\()", "", span))  # module path dropped
        if match and match.group("name") in targets:
            fn = targets[match.group("name")]
            assert documented_params(match.group(0), fn) == real_params(fn), f"{span} vs {inspect.signature(fn)}"
            checked.append(match.group("name"))
    expected = {"## Metrics": {"MetricsExporter", "incr", "observe", "set_gauge", "rate"},
                "## Shell (`platform_adapter.cli`)": {"Shell", "run_lines", "run_interactive", "main"}}
    assert set(checked) == expected[heading], "a signature the test looks for is no longer in the section"
