"""Which layer may import which: the HTTP layer (assistant/api) reaches the database only through services."""

from __future__ import annotations

import ast
from pathlib import Path

import assistant

API = Path(assistant.__file__).parent / "api"
FORBIDDEN_MODULES = ("assistant.storage.models",)
# the query builders; sqlalchemy.exc (errors) and sqlalchemy.orm.Session (a type) are fine in a route
FORBIDDEN_NAMES = {"sqlalchemy": {"select", "insert", "update", "delete", "func", "text"}}


def forbidden_imports(source: str) -> list[str]:
    """The imports in `source` that only a service may make."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith(FORBIDDEN_MODULES)]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(FORBIDDEN_MODULES):
                found.append(node.module)
            elif node.module == "assistant.storage":
                found += [f"assistant.storage.{a.name}" for a in node.names if a.name == "models"]
            found += [f"{node.module}.{a.name}" for a in node.names
                      if a.name in FORBIDDEN_NAMES.get(node.module, ())]
    return found


def test_the_rule_catches_each_kind_of_import():
    assert forbidden_imports("from assistant.storage.models import Question") == ["assistant.storage.models"]
    assert forbidden_imports("import assistant.storage.models as m") == ["assistant.storage.models"]
    assert forbidden_imports("from assistant.storage import models") == ["assistant.storage.models"]
    assert forbidden_imports("def f():\n    from sqlalchemy import func, select\n") == ["sqlalchemy.func",
                                                                                    "sqlalchemy.select"]
    assert forbidden_imports("from sqlalchemy.exc import SQLAlchemyError\nfrom assistant.services import faq") == []


def test_no_module_under_api_imports_the_models_or_builds_queries():
    modules = sorted(API.rglob("*.py"))
    assert len(modules) > 10  # the routes are really walked
    offenders = {str(p.relative_to(API)): found for p in modules
                 if (found := forbidden_imports(p.read_text(encoding="utf-8")))}
    assert offenders == {}, f"routes must call a service instead: {offenders}"
