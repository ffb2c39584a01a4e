"""Every module the docs name exists: a path `dagc/…/x.py` is a file, and a dotted name `dagc.x.y`
is a module or a name in one (the docs moved with the package once; they must not rot again)."""

from __future__ import annotations

import importlib
import re

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "bench").glob("*.py"))]
_PATH = re.compile(r"(?<![\w/.])dagc/[\w/]+\.(?:py|md|json|lark)\b")
_DOTTED = re.compile(r"(?<![\w/.])dagc(?:\.[A-Za-z_]\w*)+")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for name in parts[k:]:
            if name in getattr(obj, "model_fields", {}):    # a pydantic field: no class attribute
                return True
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_the_modules_a_doc_names_exist(doc):
    text = doc.read_text()
    missing = sorted({p for p in _PATH.findall(text) if not (ROOT / p).exists()})
    missing += sorted({d for d in _DOTTED.findall(text) if not _resolves(d.rstrip("."))})
    assert not missing, f"{doc.relative_to(ROOT)} names what is not there: {missing}"
