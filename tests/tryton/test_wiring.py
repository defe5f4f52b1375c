"""`serve --erp tryton` wiring: a saved connection becomes the ERP role's sink and source (no rig needed)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from plantwire.adapters.tryton.sink import TrytonSink
from plantwire.adapters.tryton.source import TrytonSource
from plantwire.bootstrap import bootstrap_for_tests
from plantwire.errors import ConfigurationError
from plantwire.service.intake import HubIntake
from plantwire.systems import build_sinks, build_sources


def saved(tmp_path: Path, **extra: object) -> str:
    path = tmp_path / "connections" / "tryton.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(orjson.dumps({"url": "http://127.0.0.1:1", "database": "plant", "user": "hub",
                                   "password_file": None, "password_env": "PW_TEST_TRYTON", **extra}))
    return f"tryton:{path}"


def test_saved_connection_builds_sink_and_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PW_TEST_TRYTON", "secret")
    hub = bootstrap_for_tests()
    url = saved(tmp_path, blocked={"WH": "QH01"})
    sinks = build_sinks({"erp": url}, hub.state)
    assert isinstance(sinks["erp"], TrytonSink)
    [source] = build_sources({"erp": url}, HubIntake(hub.ingest), hub.state)
    assert isinstance(source, TrytonSource)


def test_missing_password_or_file_is_a_configuration_error(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PW_TEST_TRYTON", raising=False)
    hub = bootstrap_for_tests()
    with pytest.raises(ConfigurationError, match="password"):
        build_sinks({"erp": saved(tmp_path)}, hub.state)
    with pytest.raises(ConfigurationError, match="connect tryton"):
        build_sinks({"erp": f"tryton:{tmp_path / 'nope.json'}"}, hub.state)
