"""Where things live: only client.py imports the SDK; only the use cases (service.py) touch the store."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "crm_core" / "pitch"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_client_imports_the_sdk():
    users = sorted(p.name for p in PACKAGE.glob("*.py") if any(n.split(".")[0] == "anthropic" for n in _imports(p)))
    assert users == ["client.py"]


def _roots(path: Path) -> set[str]:
    return {n.split(".")[0] for n in _imports(path)} | {".".join(n.split(".")[:2]) for n in _imports(path)}


def test_the_pitch_package_imports_no_ui_or_test_code():
    for path in PACKAGE.glob("*.py"):
        assert not _roots(path) & {"streamlit", "app", "pages", "tests"}, path.name


def test_only_the_use_cases_touch_the_store():
    users = sorted(p.name for p in PACKAGE.glob("*.py") if _roots(p) & {"crm_core.store", "sqlalchemy"})
    assert users == ["service.py"]
    drafting = ["checks.py", "client.py", "drafting.py", "fields.py", "prompt.py", "settings.py", "templates.py"]
    assert not [name for name in drafting if _roots(PACKAGE / name) & {"crm_core.views", "crm_core.workflow"}]


def test_files_stay_small():
    assert [p.name for p in PACKAGE.glob("*.py") if len(p.read_text(encoding="utf-8").splitlines()) > 300] == []
