"""docs/events.md lists every event type of the suite, generated from the services' catalogues."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():  # scripts/ is not a package: load the script by its path
    spec = importlib.util.spec_from_file_location(
        "event_types_doc", ROOT / "scripts" / "event_types_doc.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_catalogue_is_what_the_services_declare() -> None:
    generator = _generator()
    page = generator.PAGE.read_text()
    assert page == generator.render(page), "run: .venv/bin/python scripts/event_types_doc.py"


def test_every_type_is_named_kind_dot_what_and_declared_once() -> None:
    seen: set[str] = set()
    for types in _generator().SERVICES.values():
        for name, description in types.items():
            kind, _, what = name.partition(".")
            assert kind and what and name == name.lower() and " " not in name, name
            assert description.strip(), name
            assert name not in seen, f"{name} is declared by two services"
            seen.add(name)
