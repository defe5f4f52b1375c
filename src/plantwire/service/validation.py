"""Turn one structured-mode CloudEvent (a parsed JSON object) into an envelope, or every issue.

Pure: the catalog comes in as an argument; no I/O, no clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from plantwire.domain.catalog import Catalog, Contract
from plantwire.envelope import CORE_ATTRIBUTES, OUR_ATTRIBUTES, SPEC_VERSION, Envelope, Pending
from plantwire.errors import InvalidEvent, Issue
from plantwire.service.strict_json import Ambiguous

DEFAULT_CONTRACT_VERSION = "1"
EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}\Z")  # \Z: `$` would allow a trailing newline
RFC3339 = re.compile(  # offsets as RFC 3339 has them: hours 00-23, minutes 00-59 (fromisoformat is laxer)
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-](?:[01]\d|2[0-3]):[0-5]\d)\Z", re.ASCII)
JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json\s*(?:;.*)?$", re.IGNORECASE)
LIMITS = {"id": 256, "source": 512, "type": 128, "subject": 512, "partitionkey": 256}
MAX_EXTENSIONS = 32
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters and DEL: never part of an identifier or an attribute (a newline in an
id splits log lines and CSV exports; a NUL ends a C string in the systems we post to)."""
MAX_EXTENSION_TEXT = 1024


def validate_event(obj: Any, catalog: Catalog) -> Pending:
    """The event as a journal-ready Pending, or InvalidEvent listing every problem with its path."""
    if type(obj) is dict:
        pending = _accept_plain(obj, catalog)
        if pending is not None:
            return pending
    return _validate_listing_issues(obj, catalog)


_PLAIN_TEXT = (("id", True), ("source", True), ("type", True), ("subject", False),
               ("dataschema", False), ("partitionkey", False))
_NOT_EXTENSIONS = CORE_ATTRIBUTES | OUR_ATTRIBUTES | {"data", "data_base64"}


def _accept_plain(obj: dict[str, Any], catalog: Catalog) -> Pending | None:
    """The hot path: the same Pending as the listing path for an event that is valid, else None.

    It asks the same questions as the listing path below, in one pass and without building issues,
    so a valid event costs little more than its contract validation; on the first doubt it gives up
    and the listing path says what is wrong (tests/unit/test_validation.py checks both agree)."""
    for name, required in _PLAIN_TEXT:
        value = obj.get(name)
        if value is None:
            if required:
                return None
        elif (type(value) is not str or len(value) > LIMITS.get(name, MAX_EXTENSION_TEXT)
              or not value.strip() or CONTROL.search(value)):
            return None
    if obj.get("specversion") != SPEC_VERSION or "data_base64" in obj:
        return None
    time, media = obj.get("time"), obj.get("datacontenttype")
    if time is not None and not is_time(time):
        return None
    if media is not None and not (type(media) is str and JSON_MEDIA.match(media)):
        return None
    extensions = {k: v for k, v in obj.items() if k not in _NOT_EXTENSIONS}
    if extensions and (len(extensions) > MAX_EXTENSIONS or not all(
            EXTENSION_NAME.match(k) and _extension_value_ok(v) for k, v in extensions.items())):
        return None
    version = obj.get("contractversion", DEFAULT_CONTRACT_VERSION)
    data = obj.get("data")
    contract = catalog.get(obj["type"], version) if type(version) is str else None
    if contract is None or type(data) is not dict:
        return None
    try:
        model = contract.model.model_validate(data)
    except ValidationError:
        return None
    return _pending(obj, contract, version, model, time, media, extensions)


def _pending(obj: dict[str, Any], contract: Contract, version: str, data: BaseModel, time: str | None,
             media: str | None, extensions: dict[str, Any]) -> Pending:
    return Pending.of(Envelope(
        id=obj["id"],
        source=obj["source"],
        type=contract.type,
        partitionkey=obj.get("partitionkey") or contract.partition_key(data),
        contractversion=version,
        data=data.model_dump(mode="json"),
        time=time,
        subject=obj.get("subject"),
        datacontenttype=media,
        dataschema=obj.get("dataschema"),
        extensions=extensions,
    ))


def _validate_listing_issues(obj: Any, catalog: Catalog) -> Pending:
    """validate_event's slow path: every problem, each with its path and rule."""
    if isinstance(obj, Ambiguous):
        raise InvalidEvent(obj.issues)
    if not isinstance(obj, dict):
        raise InvalidEvent([Issue("$", "type", f"an event must be a JSON object, got {_kind(obj)}")])
    issues: list[Issue] = []
    attrs = {name: _text(obj, name, issues, required=name in ("id", "source", "type"))
             for name in ("id", "source", "type", "subject", "dataschema", "partitionkey")}
    _check_specversion(obj, issues)
    time = _check_time(obj, issues)
    media = _check_media(obj, issues)
    extensions = _check_extensions(obj, issues)
    contract, version = _find_contract(obj, attrs["type"], catalog, issues)
    data = _check_data(obj, contract, issues)
    if issues or contract is None or data is None:
        raise InvalidEvent(issues or [Issue("$", "invalid", "event is not valid")])
    return _pending(obj, contract, version, data, time, media, extensions)


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _text(obj: dict[str, Any], name: str, issues: list[Issue], required: bool) -> str | None:
    value = obj.get(name)
    path = f"$.{name}"
    if value is None:
        if required:
            issues.append(Issue(path, "required", f"CloudEvents attribute '{name}' is required"))
        return None
    if not isinstance(value, str):
        issues.append(Issue(path, "type", f"'{name}' must be a string, got {_kind(value)}"))
        return None
    if not value.strip():
        issues.append(Issue(path, "non-empty", f"'{name}' must not be empty"))
        return None
    limit = LIMITS.get(name, MAX_EXTENSION_TEXT)
    if len(value) > limit:
        issues.append(Issue(path, "max-length",
                            f"'{name}' is {len(value)} characters; at most {limit}"))
        return None
    control = CONTROL.search(value)
    if control:
        issues.append(Issue(path, "control-character", f"'{name}' holds control character "
                            f"U+{ord(control.group()):04X} at position {control.start()}"))
        return None
    return value


def _check_specversion(obj: dict[str, Any], issues: list[Issue]) -> None:
    value = obj.get("specversion")
    if value is None:
        issues.append(Issue("$.specversion", "required", "'specversion' is required (\"1.0\")"))
    elif value != SPEC_VERSION:
        issues.append(Issue("$.specversion", "unsupported-specversion",
                            f"specversion {value!r} is not supported; send \"1.0\""))


def _check_time(obj: dict[str, Any], issues: list[Issue]) -> str | None:
    value = obj.get("time")
    if value is None or is_time(value):
        return cast("str | None", value)
    shown = repr(value)[:200]
    issues.append(Issue("$.time", "rfc3339",
                        f"'time' must be an RFC 3339 timestamp with an offset, got {shown}"))
    return None


def is_time(value: Any) -> bool:
    """An RFC 3339 timestamp with an offset."""
    if not isinstance(value, str) or not RFC3339.match(value):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _check_media(obj: dict[str, Any], issues: list[Issue]) -> str | None:
    value = obj.get("datacontenttype")
    if "data_base64" in obj:
        issues.append(Issue("$.data_base64", "unsupported-data-encoding",
                            "binary data (data_base64) is not accepted; send JSON in 'data'"))
    if value is None:
        return None
    if not isinstance(value, str) or not JSON_MEDIA.match(value):
        issues.append(Issue("$.datacontenttype", "unsupported-datacontenttype",
                            f"datacontenttype must be application/json, got {value!r}"[:300]))
        return None
    return value


def _check_extensions(obj: dict[str, Any], issues: list[Issue]) -> dict[str, Any]:
    names = [k for k in obj if k not in CORE_ATTRIBUTES and k not in OUR_ATTRIBUTES
             and k not in ("data", "data_base64")]
    if len(names) > MAX_EXTENSIONS:
        issues.append(Issue("$", "too-many-extensions",
                            f"{len(names)} extension attributes; at most {MAX_EXTENSIONS}"))
        return {}
    out: dict[str, Any] = {}
    for name in names:
        value = obj[name]
        path = f"$.{name}" if EXTENSION_NAME.match(name) else f"$[{name[:40]!r}]"
        if not EXTENSION_NAME.match(name):
            issues.append(Issue(path, "extension-name",
                                "extension attribute names are 1-20 lowercase letters or digits"))
        elif _extension_value_ok(value):
            out[name] = value
        else:
            issues.append(Issue(path, "extension-value",
                                f"extension '{name}' must be a string (at most "
                                f"{MAX_EXTENSION_TEXT} characters, no control characters), "
                                "integer or boolean"))
    return out


def _extension_value_ok(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_EXTENSION_TEXT and not CONTROL.search(value)
    return isinstance(value, bool | int)


def _find_contract(
    obj: dict[str, Any], type_: str | None, catalog: Catalog, issues: list[Issue]
) -> tuple[Contract | None, str]:
    version = obj.get("contractversion", DEFAULT_CONTRACT_VERSION)
    if not isinstance(version, str):
        issues.append(Issue("$.contractversion", "type", "'contractversion' must be a string"))
        return None, ""
    if type_ is None:
        return None, version
    contract = catalog.get(type_, version)
    if contract is not None:
        return contract, version
    known = catalog.versions(type_)
    if not known:
        issues.append(Issue("$.type", "unknown-type",
                            f"unknown event type {type_[:128]!r}; known: {', '.join(catalog.types())}"))
    else:
        issues.append(Issue("$.contractversion", "unknown-contract-version",
                            f"{type_} has no contract version {version[:20]!r}; known: {', '.join(known)}"))
    return contract, version


def _check_data(obj: dict[str, Any], contract: Contract | None, issues: list[Issue]) -> BaseModel | None:
    if "data" not in obj:
        if "data_base64" not in obj:
            issues.append(Issue("$.data", "required", "'data' is required and must be a JSON object"))
        return None
    data = obj["data"]
    if not isinstance(data, dict):
        issues.append(Issue("$.data", "type", f"'data' must be a JSON object, got {_kind(data)}"))
        return None
    if contract is None:
        return None
    try:
        return contract.model.model_validate(data)
    except ValidationError as exc:
        issues.extend(pydantic_issues(exc, "$.data"))
        return None


def pydantic_issues(exc: ValidationError, root: str) -> list[Issue]:
    """Pydantic errors as issues with JSON paths such as $.data.lines[0].quantity.value."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        if err["type"] == "default_factory_not_called":
            continue  # a default pydantic did not compute because another field failed: not a problem
        path = root
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        out.append(Issue(path, str(err["type"]), str(err["msg"])))
    return out
