"""House rules a bug or a shortcut would break: crm_core stays free of streamlit, files stay small."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_crm_core_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "crm_core").rglob("*.py")
                 if {"streamlit", "streamlit_authenticator"} & _imports(p)]
    assert offenders == []


def test_crm_core_never_imports_the_app():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "crm_core").rglob("*.py") if {"app", "pages"} & _imports(p)]
    assert offenders == []


def test_no_source_file_over_400_lines():
    big = [f"{p.relative_to(ROOT)} ({n})" for folder in ("crm_core", "app", "pages")
           for p in (ROOT / folder).rglob("*.py")
           if "migrations" not in p.parts  # Alembic revisions are generated
           and (n := len(p.read_text(encoding="utf-8").splitlines())) > 400]
    assert big == []
