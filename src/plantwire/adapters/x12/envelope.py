"""ISA/GS/ST nesting with counts and control numbers checked, and writing envelopes around sets.

Problems land where a 997 reports them: a transaction set's own list (AK5 codes 2/3/4 and the AK3/
AK4 problems of its segments), a group's (AK9 codes 3/4/5), or the interchange's (which has no 997
home: a TA1 would carry it, so such an interchange is rejected as a whole).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from plantwire.adapters.x12.tokenizer import Delimiters, Problem, Segment, Tokens, tokenize
from plantwire.errors import InvalidEvent, Issue

Elements = Sequence[str]


@dataclass
class TransactionSet:
    """ST to SE: the set id (850, ...), its control number and segments, and its problems (AK5 codes)."""

    id: str
    control: str
    segments: list[Segment]
    implementation: str = ""
    codes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def body(self) -> list[Segment]:
        """The segments between ST and SE."""
        return self.segments[1:-1] if self.segments and self.segments[-1].id == "SE" else self.segments[1:]

    def position(self, segment: Segment) -> int:
        """The segment's position in the set, ST being 1 (997 AK302)."""
        return segment.number - self.segments[0].number + 1

    @property
    def accepted(self) -> bool:
        """True when nothing is wrong with the set."""
        return not self.codes and not self.problems


@dataclass
class Group:
    """GS to GE: functional id, parties, date/time, control number, version, sets and AK9 codes."""

    functional_id: str
    sender: str
    receiver: str
    date: str
    time: str
    control: str
    version: str
    sets: list[TransactionSet] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    declared_sets: int | None = None
    header: Segment = field(default=None, repr=False)  # type: ignore[assignment]


@dataclass
class Interchange:
    """ISA to IEA: delimiters, parties (qualifier, id), date/time, control number, version, groups."""

    delimiters: Delimiters
    sender: tuple[str, str]
    receiver: tuple[str, str]
    date: str
    time: str
    control: str
    version: str
    usage: str
    groups: list[Group] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def all_problems(self) -> list[Problem]:
        """Every problem of the interchange, its groups and sets, in file order."""
        found = list(self.problems)
        for group in self.groups:
            found += group.problems
            for tset in group.sets:
                found += tset.problems
        return sorted(found, key=lambda p: (p.segment, p.element or 0))


def read(data: bytes) -> list[Interchange]:
    """Every interchange of a file, nested and checked; problems are recorded, not raised."""
    return [_interchange(tokens) for tokens in tokenize(data)]


def _problem(segment: Segment, element: int | None, code: str, message: str, bad: str = "") -> Problem:
    return Problem(segment.number, segment.id, segment.line, element, code, message, bad)


def _interchange(tokens: Tokens) -> Interchange:
    isa = tokens.segments[0]
    f = isa.elements
    if len(f) < 16:
        f = tuple(f) + ("",) * (16 - len(f))
    ic = Interchange(tokens.delimiters, (f[4], f[5].strip()), (f[6], f[7].strip()), f[8], f[9], f[12],
                     f[11], f[14])
    _check_isa(isa, ic)
    rest = tokens.segments[1:]
    if not rest or rest[-1].id != "IEA":
        last = rest[-1] if rest else isa
        ic.problems.append(_problem(last, None, "iea", "the interchange has no IEA trailer"))
    else:
        iea, rest = rest[-1], rest[:-1]
        # accepted with a noted error, as a TA1 with TA104 "E" would say: nothing is lost or doubled
        _check_trailer(iea, ic.control, "ISA13", ic.warnings, "iea")
        if iea.get(1) != str(len([s for s in rest if s.id == "GS"])):
            ic.problems.append(_problem(iea, 1, "iea", f"IEA01 says {iea.get(1)} groups, the interchange "
                                        f"has {len([s for s in rest if s.id == 'GS'])}", iea.get(1)))
    _groups(rest, ic)
    for problem in tokens.problems:
        _place(problem, ic)
    return ic


def _place(problem: Problem, ic: Interchange) -> None:
    """File a tokenizer problem with the set (or group) it falls in, so the 997 can report it."""
    for group in ic.groups:
        for tset in group.sets:
            if tset.segments[0].number <= problem.segment <= tset.segments[-1].number:
                tset.problems.append(problem)
                return
        last = group.sets[-1].segments[-1].number if group.sets else group.header.number
        if group.header.number <= problem.segment <= last:
            group.problems.append(problem)
            return
    ic.problems.append(problem)


def _check_isa(isa: Segment, ic: Interchange) -> None:
    checks = [(12, ic.version, 5, "version"), (13, ic.control, 9, "control number"), (9, ic.date, 6, "date"),
              (10, ic.time, 4, "time")]
    for position, value, width, name in checks:
        if len(value) != width or not value.isdigit():
            ic.problems.append(_problem(isa, position, "isa", f"ISA{position:02d} {name} must be {width} "
                                        f"digits, got {value!r}", value))
    if len(isa.elements) != 16:
        ic.problems.append(_problem(isa, None, "isa", f"the ISA has {len(isa.elements)} elements, not 16"))
    if ic.usage not in ("P", "T", "I"):
        ic.problems.append(_problem(isa, 15, "isa", f"ISA15 usage must be P, T or I, got {ic.usage!r}"))


def _check_trailer(trailer: Segment, control: str, name: str, sink: list[Problem], code: str) -> None:
    if trailer.get(2).lstrip("0") != control.lstrip("0") or not trailer.get(2):
        sink.append(_problem(trailer, 2, code, f"{trailer.id}02 control number {trailer.get(2)!r} does not "
                             f"match {name} {control!r}", trailer.get(2)))


def _groups(segments: list[Segment], ic: Interchange) -> None:
    group: Group | None = None
    tset: TransactionSet | None = None
    for segment in segments:
        sid = segment.id
        if sid == "GS":
            if group is not None:
                _close_group(group, tset, None, segment)
                tset = None
            group = Group(segment.get(1), segment.get(2), segment.get(3), segment.get(4), segment.get(5),
                          segment.get(6), segment.get(8), header=segment)
            ic.groups.append(group)
        elif group is None:
            ic.problems.append(_problem(segment, None, "2", f"{sid} outside a functional group (GS)"))
        elif sid == "GE":
            _close_group(group, tset, segment, segment)
            group, tset = None, None
        elif sid == "ST":
            if tset is not None and tset.segments[-1].id != "SE":
                tset.codes.append("2")
            tset = TransactionSet(segment.get(1), segment.get(2), [segment], segment.get(3))
            group.sets.append(tset)
        elif tset is None or tset.segments[-1].id == "SE":
            group.problems.append(_problem(segment, None, "2", f"{sid} outside a transaction set (ST/SE)"))
            if "5" not in group.codes:
                group.codes.append("5")
        else:
            tset.segments.append(segment)
            if sid == "SE":
                _close_set(tset, segment)
    if group is not None:
        _close_group(group, tset, None, segments[-1])


def _close_set(tset: TransactionSet, se: Segment) -> None:
    if se.get(2) != tset.control:
        tset.codes.append("3")
        tset.problems.append(_problem(se, 2, "3", f"SE02 {se.get(2)!r} does not match ST02 {tset.control!r}",
                                      se.get(2)))
    if se.get(1) != str(len(tset.segments)):
        tset.codes.append("4")
        tset.problems.append(_problem(se, 1, "4", f"SE01 says {se.get(1)} segments, the set has "
                                      f"{len(tset.segments)} (ST to SE)", se.get(1)))


def _close_group(group: Group, tset: TransactionSet | None, ge: Segment | None, at: Segment) -> None:
    if tset is not None and tset.segments[-1].id != "SE":
        tset.codes.append("2")
        tset.problems.append(_problem(tset.segments[-1], None, "2",
                                      f"transaction set {tset.control} has no SE trailer"))
    if ge is None:
        group.codes.append("3")
        group.problems.append(_problem(at, None, "3", f"functional group {group.control} has no GE trailer"))
        return
    group.declared_sets = int(ge.get(1)) if ge.get(1).isdigit() else None
    if ge.get(2).lstrip("0") != group.control.lstrip("0") or not ge.get(2):
        group.codes.append("4")
        group.problems.append(_problem(ge, 2, "4", f"GE02 {ge.get(2)!r} does not match GS06 "
                                       f"{group.control!r}", ge.get(2)))
    if ge.get(1) != str(len(group.sets)):
        group.codes.append("5")
        group.problems.append(_problem(ge, 1, "5", f"GE01 says {ge.get(1)} transaction sets, the group "
                                       f"has {len(group.sets)}", ge.get(1)))


# --- writing ---------------------------------------------------------------------------------------


def control_number(seed: str, digits: int = 9) -> str:
    """A deterministic control number from a seed (an idempotency key): a retry sends the same one."""
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") % (10**digits - 1) + 1
    return f"{value:0{digits}d}"


WRITE_DELIMITERS = Delimiters("*", ">", "~", "^")
"""What we write with: the usual separators, ^ repeating (ignored before 00402)."""


@dataclass(frozen=True)
class Parties:
    """Who sends and who receives: ISA qualifier and id, and the GS application codes."""

    sender_qualifier: str
    sender: str
    receiver_qualifier: str
    receiver: str
    sender_code: str = ""
    receiver_code: str = ""


def write(sets: Iterable[tuple[str, Sequence[Elements]]], *, parties: Parties, functional_id: str,
          version: str, control: str, date: str, time: str, usage: str = "P",
          delimiters: Delimiters = WRITE_DELIMITERS, line_breaks: bool = True) -> bytes:
    """One interchange with one group holding the given sets ((set id, body segments) each).

    `version` is the GS08 version (e.g. 004010); `date` is CCYYMMDD and `time` HHMM. Control numbers:
    ISA13 is `control`, GS06 its last 9 digits without leading zeros, ST02 the set's ordinal.
    """
    sep, term = delimiters.element, delimiters.segment + ("\n" if line_breaks else "")
    isa_version = "0" + version[1:5]  # 004010 -> 00401
    rep = delimiters.repetition if isa_version >= "00402" and delimiters.repetition else "U"
    isa = ["ISA", "00", " " * 10, "00", " " * 10, parties.sender_qualifier, parties.sender.ljust(15),
           parties.receiver_qualifier, parties.receiver.ljust(15), date[2:], time, rep, isa_version,
           control, "0", usage, delimiters.component]
    gs_control = str(int(control))
    out = [sep.join(isa), sep.join(["GS", functional_id, parties.sender_code or parties.sender,
                                    parties.receiver_code or parties.receiver, date, time, gs_control,
                                    "X", version])]
    count = 0
    for count, (set_id, body) in enumerate(sets, start=1):
        st_control = f"{count:04d}"
        out.append(sep.join(["ST", set_id, st_control]))
        out.extend(sep.join(_safe(_trim(segment), len(out) + 1, delimiters)) for segment in body)
        out.append(sep.join(["SE", str(len(body) + 2), st_control]))
    out.append(sep.join(["GE", str(count), gs_control]))
    out.append(sep.join(["IEA", "1", control]))
    return (term.join(out) + term).encode()


def _safe(segment: list[str], number: int, delimiters: Delimiters) -> list[str]:
    """The segment, or InvalidEvent naming the first element holding a delimiter or a line break."""
    used = (delimiters.element, delimiters.segment, delimiters.component, delimiters.repetition, "\r", "\n")
    reserved = {c for c in used if c}
    for position, value in enumerate(segment[1:], start=1):
        bad = reserved.intersection(value)
        if bad:
            raise InvalidEvent([Issue(f"segment[{number}]/{segment[0]}{position:02d}", "x12-delimiter",
                                      f"{value[:40]!r} holds {sorted(bad)!r}, which X12 "
                                      "cannot carry in data (it has no release character)")])
    return segment


def _trim(segment: Elements) -> list[str]:
    """Drop trailing empty elements (X12 forbids trailing separators)."""
    items = list(segment)
    while len(items) > 1 and items[-1] == "":
        items.pop()
    return items
