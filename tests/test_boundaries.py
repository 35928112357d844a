"""House rules a bug or a shortcut would break: the layers and their direction, no import cycles,
crm_core free of streamlit, files small.

The layers (README, "Architecture"), each importing only those below it:

    entry points   app/, pages/, crm_core/cli/, crm_core/demo/
    use cases      crm_core/services/, workflow/, pitch/, outcomes/, reports/, the loading half of ingest/,
                   the user and login half of auth/          -> read side, pure, store, leaves
    read side      crm_core/views/                          -> pure, store, leaves (never a use case)
    pure           features, segment/, recommend/, gate/, stats/, charts/, config, the reading half of ingest/,
                   the text half of pitch/                    -> leaves only (no store, no I/O)
    store          crm_core/store/                          -> leaves only
    leaves         errors, ids, money, keys, formula_safety, display_text, settings_base, auth.roles, auth.passwords

Entry points draw and call: they reach the use cases, the read side, the figure builders and the
settings, and of the store only its door (``crm_core.store.Database``).
"""

import ast
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("crm_core", "app", "pages")

LEAF, STORE, PURE, READ, USE_CASE, ENTRY = "leaf", "store", "pure", "read side", "use case", "entry point"
# Longest prefix wins.
LAYER_OF = {
    "crm_core": LEAF, "crm_core.errors": LEAF, "crm_core.ids": LEAF, "crm_core.money": LEAF, "crm_core.keys": LEAF,
    "crm_core.formula_safety": LEAF, "crm_core.display_text": LEAF, "crm_core.settings_base": LEAF,
    "crm_core.progress": LEAF, "crm_core.logs": LEAF, "crm_core.dates": LEAF, "crm_core.files": LEAF, "crm_core.free_text": LEAF,
    "crm_core.holdings": PURE,
    "crm_core.auth": LEAF, "crm_core.auth.roles": LEAF, "crm_core.auth.passwords": LEAF,
    "crm_core.store": STORE,
    "crm_core.config": PURE, "crm_core.features": PURE, "crm_core.segment": PURE, "crm_core.recommend": PURE,
    "crm_core.gate": PURE, "crm_core.stats": PURE, "crm_core.charts": PURE, "crm_core.customers": PURE,
    "crm_core.ingest": USE_CASE, "crm_core.ingest.service": USE_CASE, "crm_core.ingest.load": USE_CASE,
    "crm_core.ingest.load_records": USE_CASE, "crm_core.ingest.saved_mappings": USE_CASE,
    "crm_core.ingest.load_transactions": USE_CASE, "crm_core.ingest.batched": USE_CASE,
    "crm_core.ingest.batch_record": USE_CASE,
    **{f"crm_core.ingest.{m}": PURE for m in ("read", "sniff", "excel", "dates", "numbers", "mapping", "validate",
                                               "cells", "records", "issues", "report", "settings", "errors",
                                               "source", "textfile", "batches", "containers", "scan", "currency")},
    "crm_core.views": READ,
    "crm_core.services": USE_CASE, "crm_core.workflow": USE_CASE, "crm_core.outcomes": USE_CASE,
    "crm_core.reports": USE_CASE, "crm_core.pitch": USE_CASE,
    **{f"crm_core.pitch.{m}": PURE for m in ("settings", "fields", "templates", "prompt", "checks")},
    "crm_core.auth.users": USE_CASE, "crm_core.auth.login": USE_CASE, "crm_core.auth.bootstrap": USE_CASE,
    "crm_core.auth.sessions": USE_CASE,
    "crm_core.cli": ENTRY, "crm_core.__main__": ENTRY, "crm_core.demo": ENTRY, "app": ENTRY, "pages": ENTRY,
}
MAY_IMPORT = {
    LEAF: {LEAF},
    STORE: {STORE, LEAF},
    PURE: {PURE, LEAF},
    READ: {READ, PURE, STORE, LEAF},
    USE_CASE: {USE_CASE, READ, PURE, STORE, LEAF},
    ENTRY: {ENTRY, USE_CASE, READ, LEAF},
}
# What an entry point may take from the lower layers: figures, settings, and the store's door.
ENTRY_MAY_ALSO = ("crm_core.charts", "crm_core.config", "crm_core.store.db")
ENTRY_MAY_ALSO_EXACT = {"crm_core.store"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@lru_cache(maxsize=None)
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for folder in SOURCE_DIRS for p in (ROOT / folder).rglob("*.py")
            if "migrations" not in p.parts}


def _resolve(name: str, modules: dict) -> str | None:
    """The project module ``name`` refers to (its nearest existing package or module), or None."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


@lru_cache(maxsize=None)
def _imports_of(module: str) -> frozenset[str]:
    """Project modules imported by ``module`` (anywhere in it, functions included)."""
    modules = _modules()
    path = modules[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # "from pkg import sub" imports the submodule pkg.sub when there is one
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved and resolved != module and resolved.split(".")[0] in SOURCE_DIRS:
                found.add(resolved)
    return frozenset(found)


def layer_of(module: str) -> str:
    """The layer of a project module (longest prefix of LAYER_OF)."""
    name = module
    while name not in LAYER_OF:
        if "." not in name:
            raise KeyError(f"{module} is in no layer: add it (or its folder) to LAYER_OF")
        name = name.rpartition(".")[0]
    return LAYER_OF[name]


def _allowed(importer: str, imported: str) -> bool:
    low, high = layer_of(imported), layer_of(importer)
    if low in MAY_IMPORT[high]:
        return True
    return high == ENTRY and (imported in ENTRY_MAY_ALSO_EXACT or imported.startswith(ENTRY_MAY_ALSO)
                              or imported.endswith(".settings"))


def test_every_module_has_a_layer():
    assert [m for m in _modules() if not _layer_known(m)] == []


def _layer_known(module: str) -> bool:
    try:
        layer_of(module)
    except KeyError:
        return False
    return True


def test_imports_follow_the_direction_of_the_layers():
    wrong = sorted(f"{m} ({layer_of(m)}) imports {d} ({layer_of(d)})"
                   for m in _modules() for d in _imports_of(m) if not _allowed(m, d))
    assert wrong == []


def test_no_import_cycles():
    """Between modules (a package's __init__ re-exporting its own modules is not a cycle)."""
    modules = _modules()
    graph = {m: {d for d in _imports_of(m) if not _reexport(m, d)} for m in modules}
    cycles, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def _reexport(module: str, dep: str) -> bool:
    return _modules()[module].name == "__init__.py" and dep.startswith(module + ".")


@pytest.mark.parametrize("importer, imported, allowed", [
    ("crm_core.views.runs", "crm_core.services.pipeline", False),
    ("crm_core.segment.rfm", "crm_core.store.models", False),
    ("crm_core.store.db", "crm_core.views.runs", False),
    ("pages.offers", "crm_core.store.models", False),
    ("pages.offers", "crm_core.recommend.engine", False),
    ("pages.offers", "crm_core.views.offers", True),
    ("pages.offers", "crm_core.store", True),
    ("crm_core.services.pipeline", "crm_core.views.runs", True),
    ("crm_core.ingest.read", "crm_core.ingest.saved_mappings", False),
])
def test_the_direction_rule_itself(importer, imported, allowed):
    assert _allowed(importer, imported) is allowed


def test_crm_core_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "crm_core").rglob("*.py")
                 if {"streamlit", "streamlit_authenticator"} & _top_level_imports(p)]
    assert offenders == []


def _top_level_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_source_file_over_400_lines():
    big = [f"{p.relative_to(ROOT)} ({n})" for folder in SOURCE_DIRS
           for p in (ROOT / folder).rglob("*.py")
           if "migrations" not in p.parts  # Alembic revisions are generated
           and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert big == []
