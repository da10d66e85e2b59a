"""docs/settings.md is the one table of every setting, generated from the settings classes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # scripts/ is not a package: load the script by its path
    spec = importlib.util.spec_from_file_location(
        "settings_doc", ROOT / "scripts" / "settings_doc.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_settings_page_is_what_the_classes_generate() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    assert page == _generator().render(), "run: .venv/bin/python scripts/settings_doc.py"


def test_every_setting_of_every_app_is_a_row_with_its_meaning() -> None:
    generator = _generator()
    page = generator.render()
    for model in generator.APPS.values():
        for name in model.model_fields:
            assert f"| `{name.upper()}` |" in page, name
    assert "DATABASE_MAX_CONNECTIONS" in page and "STATEMENT_CACHE_SIZE" in page
