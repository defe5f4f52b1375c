"""Hostile XML: each attack is refused by the hardened parser with a located, clear error; nothing
crashes, nothing is read from disk or the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantwire.adapters._xml import XmlLimits, parse_xml
from plantwire.adapters.b2mml.mapping import B2mmlMapping
from plantwire.adapters.b2mml.schemas import SchemaSet
from plantwire.adapters.b2mml.source import B2mmlReader
from plantwire.errors import InvalidEvent

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "b2mml"
NS = b'xmlns="http://www.mesa.org/xml/B2MML-V0600"'

LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b']>\n<SyncProductionSchedule ' + NS + b'>&lol9;</SyncProductionSchedule>')

HOSTILE: dict[str, tuple[bytes, str]] = {
    "xxe-file": (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                 b'<SyncProductionSchedule ' + NS + b'>&x;</SyncProductionSchedule>', "xml-dtd"),
    "xxe-http": (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]>\n'
                 b'<SyncProductionSchedule ' + NS + b'>&x;</SyncProductionSchedule>', "xml-dtd"),
    "billion-laughs": (LAUGHS, "xml-dtd"),
    "external-dtd": (b'<?xml version="1.0"?>\n<!DOCTYPE SyncProductionSchedule SYSTEM "http://127.0.0.1:9/b.dtd">\n'
                     b'<SyncProductionSchedule ' + NS + b'/>', "xml-dtd"),
    "parameter-entity": (b'<?xml version="1.0"?>\n'
                         b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>', "xml-dtd"),
    "deep-nesting": (b"<a>" * 10_000 + b"</a>" * 10_000, "xml-limit"),
    "huge-attribute": (b'<SyncProductionSchedule ' + NS + b' releaseID="' + b"x" * 1_000_000 + b'"/>',
                       "xml-limit"),
    "invalid-utf8": (b'<?xml version="1.0" encoding="UTF-8"?>\n<SyncProductionSchedule ' + NS
                     + b'>\xff\xfe\xc3</SyncProductionSchedule>', "xml-encoding"),
    "truncated": (b'<?xml version="1.0"?>\n<SyncProductionSchedule ' + NS + b'><ApplicationArea>',
                  "xml-syntax"),
    "empty": (b"", "xml-empty"),
    "not-b2mml": (b'<order xmlns="urn:other"/>', "b2mml-namespace"),
}


@pytest.fixture(scope="module")
def reader() -> B2mmlReader:
    return B2mmlReader(B2mmlMapping(plant="1000"), SchemaSet(CORPUS))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_refused_with_a_located_error(name: str, reader: B2mmlReader) -> None:
    data, rule = HOSTILE[name]
    with pytest.raises(InvalidEvent) as refused:
        reader.parse(data)
    issue = refused.value.issues[0]
    assert issue.rule == rule, issue
    assert issue.path.startswith(("line ", "/", "document")), issue
    assert "root:" not in str(refused.value)  # nothing of /etc/passwd leaks into the message


def test_dtd_is_refused_before_the_parser_sees_it() -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_xml(HOSTILE["xxe-file"][0])
    assert refused.value.issues[0].path == "line 2, column 1"


def test_utf16_doctype_is_refused_too() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'.encode("utf-16")
    with pytest.raises(InvalidEvent) as refused:
        parse_xml(data)
    assert refused.value.issues[0].rule == "xml-dtd"


def test_size_limit_is_checked_before_parsing() -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_xml(b"<r>" + b"x" * 2048 + b"</r>", XmlLimits(max_bytes=1024))
    assert refused.value.issues[0].rule == "xml-size"


def test_schema_errors_carry_xpath_and_line(reader: B2mmlReader) -> None:
    data = (b'<?xml version="1.0"?>\n<SyncProductionSchedule ' + NS + b' releaseID="1">\n'
            b"<ApplicationArea><CreationDateTime>not a time</CreationDateTime></ApplicationArea>\n"
            b"<DataArea><Sync/><ProductionSchedule/></DataArea></SyncProductionSchedule>")
    with pytest.raises(InvalidEvent) as refused:
        reader.parse(data)
    issue = refused.value.issues[0]
    assert issue.rule == "b2mml-schema"
    assert issue.path == "/SyncProductionSchedule/ApplicationArea/CreationDateTime (line 3)", issue
