"""Seeds: real documents from the shared corpus (used in place, never copied) and the repo's fixtures.

The corpus root is PLANTWIRE_CORPUS, else ``../shared/corpus`` beside the repository. A target with
no seed fails (it never skips): a fuzz run without seeds would prove nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("PLANTWIRE_CORPUS", REPO.parent / "shared" / "corpus"))
FIXTURES = REPO / "tests" / "formats" / "fixtures"


def files(*patterns: str, root: Path = CORPUS) -> list[bytes]:
    """The bytes of every file matching any pattern under root; fails when there are none."""
    found = sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})
    assert found, f"no fuzz seeds for {patterns} under {root} (set PLANTWIRE_CORPUS?)"
    return [p.read_bytes() for p in found]


def json_fixtures(pack: str, prefix: str = "") -> list[Any]:
    """The parsed JSON fixtures (good and broken) of an ERP pack, optionally by name prefix."""
    return [json.loads(b) for b in files(f"{prefix}*.json", f"broken/{prefix}*.json", root=FIXTURES / pack)]
