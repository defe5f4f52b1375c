"""The 997 functional acknowledgment: written for every received group, read when one comes back.

One 997 per received functional group (never for a received 997: acknowledgments are not
acknowledged). AK1 names the group; per set an AK2, an AK3 per segment in error with AK4s for its
elements (position, data element number, code, copy of the bad data), and AK5 accepted (A) or
rejected (R) with its codes; AK9 says A, P (partially accepted) or R for the group with the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plantwire.adapters.x12.envelope import Group, Interchange, Parties, TransactionSet, control_number, write
from plantwire.adapters.x12.segments import SEGMENTS
from plantwire.adapters.x12.tokenizer import Problem
from plantwire.errors import InvalidEvent, Issue

Body = list[list[str]]
_UNSAFE = str.maketrans({c: " " for c in "*~^:>!`{|\r\n"})


ElementError = tuple[int, str, str]
"""(element position, AK403 code, copy of the bad data)."""
SegmentError = tuple[str, int, str, tuple[ElementError, ...]]
"""(segment id, position in the set, AK304 code, its element errors)."""


@dataclass(frozen=True)
class SetAck:
    """What a 997 says about one transaction set."""

    set_id: str
    control: str
    status: str
    codes: tuple[str, ...] = ()
    errors: tuple[SegmentError, ...] = ()


@dataclass(frozen=True)
class GroupAck:
    """What a 997 says about one functional group: A, E, P or R, with counts and per-set answers."""

    functional_id: str
    control: str
    status: str
    included: int
    received: int
    accepted: int
    codes: tuple[str, ...] = ()
    sets: tuple[SetAck, ...] = field(default=())


def group_ack(group: Group) -> GroupAck:
    """The 997 answer to a received group whose problems have been checked."""
    sets = tuple(_set_ack(tset) for tset in group.sets)
    accepted = sum(1 for s in sets if s.status == "A")
    codes = tuple(dict.fromkeys(group.codes))
    status = "R" if codes or accepted == 0 else ("A" if accepted == len(sets) else "P")
    included = group.declared_sets if group.declared_sets is not None else len(sets)
    return GroupAck(group.functional_id, group.control, status, included, len(sets), accepted, codes, sets)


def _set_ack(tset: TransactionSet) -> SetAck:
    found: dict[int, tuple[str, str, list[ElementError]]] = {}
    for problem in tset.problems:
        if problem.segment_id in ("ST", "SE") and problem.code in ("2", "3", "4"):
            continue  # said by the AK5 code
        position = problem.segment - tset.segments[0].number + 1
        seg_id, elements = problem.segment_id or "ZZZ", found.get(position, ("", "8", []))[2]
        if problem.element is None:
            found[position] = (seg_id, problem.code, elements)
        else:
            found.setdefault(position, (seg_id, "8", elements))
            elements.append((problem.element, problem.code, problem.bad_data))
    errors = tuple((seg_id, position, code, tuple(elements[:10]))
                   for position, (seg_id, code, elements) in found.items())
    return SetAck(tset.id, tset.control, "A" if tset.accepted else "R", tuple(dict.fromkeys(tset.codes))[:5],
                  errors)


def _ref(seg_id: str, element: int) -> str:
    layout = SEGMENTS.get(seg_id, ())
    return (layout[element - 1].ref or "") if element <= len(layout) else ""


def ack_body(ack: GroupAck, version: str) -> Body:
    """The 997 segments (AK1 to AK9) for one group answer."""
    five = version >= "005010"
    body: Body = [["AK1", ack.functional_id, ack.control] + ([version] if five else [])]
    for s in ack.sets:
        body.append(["AK2", s.set_id, s.control])
        for seg_id, position, code, elements in s.errors:
            body.append(["AK3", seg_id, str(position), "", code])
            for element, element_code, bad in elements:
                body.append(["AK4", str(element), _ref(seg_id, element), element_code,
                             bad.translate(_UNSAFE).strip()[:99]])
        body.append(["AK5", s.status, *s.codes])
    body.append(["AK9", ack.status, str(ack.included), str(ack.received), str(ack.accepted), *ack.codes])
    return body


def write_997(ic: Interchange, group: Group, ack: GroupAck, date: str, time: str) -> bytes:
    """The 997 interchange answering `group` of `ic`: parties swapped, control numbers from theirs."""
    version = group.version[:6] if group.version[:6].isdigit() else "004010"
    parties = Parties(ic.receiver[0], ic.receiver[1], ic.sender[0], ic.sender[1],
                      group.receiver, group.sender)
    control = control_number(f"997/{ic.sender}/{ic.control}/{group.control}")
    return write([("997", ack_body(ack, version))], parties=parties, functional_id="FA", version=version,
                 control=control, date=date, time=time, usage=ic.usage if ic.usage in "PT" else "P")


def read_997(tset: TransactionSet) -> GroupAck:
    """A received 997 as the answer it carries (for the outbound PO to see its fate)."""
    body = tset.body
    ak1 = next((s for s in body if s.id == "AK1"), None)
    ak9 = next((s for s in body if s.id == "AK9"), None)
    if ak1 is None or ak9 is None:
        at = tset.segments[0]
        raise InvalidEvent([Problem(at.number, "ST", at.line, None, "3", "a 997 needs AK1 and AK9").issue()])
    sets: list[SetAck] = []
    head: tuple[str, str] | None = None
    errors: list[tuple[str, int, str, list[ElementError]]] = []
    for segment in body:
        if segment.id == "AK2":
            head, errors = (segment.get(1), segment.get(2)), []
        elif segment.id == "AK3":
            errors.append((segment.get(1), _int(segment.get(2)), segment.get(4), []))
        elif segment.id == "AK4" and errors:
            errors[-1][3].append((_int(segment.get(1).split(":")[0]), segment.get(3), segment.get(4)))
        elif segment.id == "AK5" and head is not None:
            sets.append(SetAck(head[0], head[1], segment.get(1), tuple(x for x in segment.elements[1:] if x),
                               tuple((s, p, c, tuple(e)) for s, p, c, e in errors)))
            head = None
    return GroupAck(ak1.get(1), ak1.get(2), ak9.get(1), _int(ak9.get(2)), _int(ak9.get(3)),
                    _int(ak9.get(4)), tuple(x for x in ak9.elements[4:] if x), tuple(sets))


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def ack_issues(ack: GroupAck) -> list[Issue]:
    """A received 997's rejections as issues (empty when everything was accepted)."""
    out = []
    if ack.status not in ("A", "E"):
        out.append(Issue(f"GS[{ack.control}]", "x12-997-group", f"group {ack.control} {ack.status}: "
                         f"codes {ack.codes}"))
    for s in ack.sets:
        if s.status not in ("A", "E"):
            out.append(Issue(f"GS[{ack.control}]/ST[{s.control}]", "x12-997-set",
                             f"{s.set_id} {s.control} rejected: codes {s.codes}, errors {s.errors}"))
    return out
