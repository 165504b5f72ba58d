"""Hypothesis strategies for what arrives on the incident topic: good reports and every class
of bad input the consumer must survive, each paired with the words its rejection must name."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from events import topics
from events.envelope import ENVELOPE_LIMIT_BYTES
from events.kafka import Record
from events.schemas import _SCHEMAS

WUHAN = (30.5928, 114.3055)
# The product's types: a unit test may register its own (test.*) in the same process.
KNOWN_TYPES = frozenset(t for t, _ in _SCHEMAS if not t.startswith("test."))


@dataclass(frozen=True)
class Sample:
    """One record's bytes, and what must happen to it: `reason` words if it must be rejected,
    None if it is a good report (`incident_id` then names it)."""

    value: bytes | None
    reason: tuple[str, ...] | None
    incident_id: str | None = None


def envelope(now: datetime, incident_id: str | None = None, **payload: Any) -> dict[str, Any]:
    """A well-formed incident.reported envelope, as a JSON-ready dict."""
    body: dict[str, Any] = {
        "id": incident_id or f"fz-{uuid.uuid4().hex[:20]}",
        "kind": "repair",
        "priority": "normal",
        "latitude": WUHAN[0],
        "longitude": WUHAN[1],
        "address": "1 Jiefang Avenue",
        "region": "wuhan",
        "reported_at": now.isoformat(),
    }
    body.update(payload)
    return {
        "event_id": uuid.uuid4().hex,
        "type": "incident.reported",
        "version": 1,
        "occurred_at": now.isoformat(),
        "producer": "fuzz",
        "key": "wuhan",
        "payload": body,
    }


def encode(document: Any) -> bytes:
    """UTF-8 JSON; a lone surrogate goes out as a \\u escape, as a careless producer sends it.
    (NaN and Infinity go out as such: producers in other languages send them.)"""
    try:
        return json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(document).encode()


def good(now: datetime) -> st.SearchStrategy[Sample]:
    def build(lat: float, lon: float, address: str) -> Sample:
        document = envelope(now, latitude=lat, longitude=lon, address=address)
        return Sample(encode(document), None, document["payload"]["id"])

    return st.builds(
        build,
        st.floats(29.0, 33.0),
        st.floats(108.5, 116.0),
        st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=80),
    )


def non_json() -> st.SearchStrategy[Sample]:
    garbage = st.binary(max_size=300).filter(lambda raw: not _is_json(raw))
    return st.builds(lambda raw: Sample(raw, ("invalid envelope",)), garbage)


def truncated(now: datetime) -> st.SearchStrategy[Sample]:
    raw = encode(envelope(now))
    return st.builds(lambda n: Sample(raw[:n], ("invalid envelope",)), st.integers(0, len(raw) - 1))


def tombstone() -> st.SearchStrategy[Sample]:
    return st.just(Sample(None, ("empty record",)))


_WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.text(alphabet="abcxyz", min_size=1, max_size=8),
)


TYPED_FIELDS = (
    *("latitude", "longitude", "kind", "priority", "reported_at"),  # payload
    *("version", "occurred_at"),  # envelope
)


def wrong_type(now: datetime) -> st.SearchStrategy[Sample]:
    """A field of the envelope or the payload given a value of the wrong type."""

    def build(field: str, value: Any) -> Sample:
        return with_value(now, field, value)

    return st.builds(build, st.sampled_from(TYPED_FIELDS), _WRONG)


def with_value(now: datetime, field: str, value: Any) -> Sample:
    """A report whose envelope or payload `field` is `value`, to be rejected naming it."""
    document = envelope(now)
    (document["payload"] if field in document["payload"] else document)[field] = value
    return Sample(encode(document), (field,))


def missing_field(now: datetime) -> st.SearchStrategy[Sample]:
    def build(field: str) -> Sample:
        document = envelope(now)
        document["payload"].pop(field)
        return Sample(encode(document), (field,))

    return st.builds(build, st.sampled_from(["kind", "latitude", "longitude", "reported_at"]))


def unknown_type(now: datetime) -> st.SearchStrategy[Sample]:
    names = st.text(min_size=1, max_size=64).filter(lambda t: t not in KNOWN_TYPES)

    def build(name: str) -> Sample:
        reason = ("type", "NUL") if "\x00" in name else ("unknown event type",)
        return Sample(encode({**envelope(now), "type": name}), reason)

    return st.builds(build, names)


def unknown_version(now: datetime) -> st.SearchStrategy[Sample]:
    def build(version: int) -> Sample:
        return Sample(encode({**envelope(now), "version": version}), ("unknown version",))

    return st.builds(build, st.integers(2, 2**62))


def other_event_type(now: datetime) -> st.SearchStrategy[Sample]:
    """A known event that has no business on the incident topic."""

    def build(name: str) -> Sample:
        return Sample(encode({**envelope(now), "type": name}), (name,))

    return st.builds(build, st.sampled_from(sorted(KNOWN_TYPES - {"incident.reported"})))


def impossible_coordinates(now: datetime) -> st.SearchStrategy[Sample]:
    outside = st.one_of(
        st.floats(min_value=90.000001, allow_infinity=True, allow_nan=False),
        st.floats(max_value=-90.000001, allow_infinity=True, allow_nan=False),
        st.just(float("nan")),
    )
    wide = st.one_of(
        st.floats(min_value=180.000001, allow_infinity=True, allow_nan=False),
        st.floats(max_value=-180.000001, allow_infinity=True, allow_nan=False),
        st.just(float("nan")),
    )

    def build(which: str, value: float) -> Sample:
        return Sample(encode(envelope(now, **{which: value})), (which,))

    return st.one_of(
        st.builds(build, st.just("latitude"), outside),
        st.builds(build, st.just("longitude"), wide),
    )


def far_timestamps(now: datetime) -> st.SearchStrategy[Sample]:
    """reported_at (or the envelope's occurred_at) over a day ahead or a month behind."""
    ahead = st.timedeltas(timedelta(days=1, seconds=1), timedelta(days=3_000_000))
    behind = st.timedeltas(timedelta(days=30, seconds=1), timedelta(days=700_000))

    def build(field: str, later: bool, span: timedelta) -> Sample:
        try:
            at = now + span if later else now - span
        except OverflowError:
            at = (
                datetime.max.replace(tzinfo=now.tzinfo)
                if later
                else datetime.min.replace(tzinfo=now.tzinfo)
            )
        document = envelope(now)
        if field == "reported_at":
            document["payload"]["reported_at"] = at.isoformat()
        else:
            document["occurred_at"] = at.isoformat()
        return Sample(encode(document), (field,))

    return st.one_of(
        st.builds(build, st.sampled_from(["reported_at", "occurred_at"]), st.just(True), ahead),
        st.builds(build, st.sampled_from(["reported_at", "occurred_at"]), st.just(False), behind),
    )


def oversized(now: datetime) -> st.SearchStrategy[Sample]:
    def build(extra: int) -> Sample:
        document = envelope(now)
        document["payload"]["address"] = "x" * (ENVELOPE_LIMIT_BYTES + extra)
        return Sample(encode(document), ("exceeds",))

    return st.builds(build, st.integers(0, 4096))


def unicode_edges(now: datetime) -> st.SearchStrategy[Sample]:
    """Any unicode in the free-text fields: NUL and lone surrogates must be refused by name;
    everything else (emoji, RTL marks, combining and zero-width characters) is a good report."""
    nasty = st.text(
        st.one_of(
            st.characters(codec=None),
            st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\u200b", "\ufeff", "🚒"]),
        ),
        min_size=1,
        max_size=60,
    )

    def build(field: str, text: str) -> Sample:
        document = envelope(now)
        if field == "id":
            text = text[:64]
        document["payload"][field] = text
        # the parser refuses a lone surrogate before any field is read, a NUL beside it too
        if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            return Sample(encode(document), ("invalid envelope",))
        if "\x00" in text:
            return Sample(encode(document), (field, "NUL"))
        return Sample(encode(document), None, document["payload"]["id"])

    return st.builds(build, st.sampled_from(["address", "id", "region"]), nasty)


def nul_in_text(now: datetime) -> st.SearchStrategy[Sample]:
    """A NUL somewhere in a free-text field: PostgreSQL cannot store it."""

    def build(field: str, head: str, tail: str) -> Sample:
        document = envelope(now)
        document["payload"][field] = (head + "\x00" + tail)[:60]
        return Sample(encode(document), (field, "NUL"))

    text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
    return st.builds(build, st.sampled_from(["address", "id", "region"]), text, text)


def bad(now: datetime) -> st.SearchStrategy[Sample]:
    """Any class of bad input."""
    return st.one_of(
        non_json(),
        truncated(now),
        tombstone(),
        wrong_type(now),
        missing_field(now),
        unknown_type(now),
        unknown_version(now),
        other_event_type(now),
        impossible_coordinates(now),
        far_timestamps(now),
        oversized(now),
        nul_in_text(now),
    )


def one_of_each(now: datetime) -> list[Sample]:
    """One fixed record of each class of bad input, for tests that pay seconds per example
    (a real broker and dispatcher) and so cannot let Hypothesis search."""

    whole = encode(envelope(now))
    missing = envelope(now)
    missing["payload"].pop("kind")
    other_type = sorted(KNOWN_TYPES - {"incident.reported"})[0]
    return [
        Sample(b"\xff\xfe{not json", ("invalid envelope",)),
        Sample(whole[: len(whole) // 2], ("invalid envelope",)),
        Sample(None, ("empty record",)),
        with_value(now, "latitude", "north"),
        Sample(encode(missing), ("kind",)),
        Sample(encode({**envelope(now), "type": "incident.exploded"}), ("unknown event type",)),
        Sample(encode({**envelope(now), "version": 7}), ("unknown version",)),
        Sample(encode({**envelope(now), "type": other_type}), (other_type,)),
        with_value(now, "longitude", 181.5),
        with_value(now, "reported_at", (now + timedelta(days=2)).isoformat()),
        Sample(encode(envelope(now, address="x" * (ENVELOPE_LIMIT_BYTES + 1))), ("exceeds",)),
        Sample(encode(envelope(now, address="Jiefang\x00Avenue")), ("address", "NUL")),
    ]


def good_reports(now: datetime, count: int) -> list[Sample]:
    samples = []
    for _ in range(count):
        document = envelope(now)
        samples.append(Sample(encode(document), None, document["payload"]["id"]))
    return samples


def mixed_batch(now: datetime) -> st.SearchStrategy[list[Sample]]:
    """A batch of good and bad records, with some records sent twice (redelivery) and some
    incidents reported twice under a new event id (a client's retry)."""

    def with_duplicates(samples: list[Sample], repeats: list[int]) -> list[Sample]:
        out = list(samples)
        for n in repeats:
            original = samples[n % len(samples)]
            out.append(original)
            if original.reason is None and original.value is not None:
                again = json.loads(original.value)
                again["event_id"] = uuid.uuid4().hex
                out.append(Sample(encode(again), None, original.incident_id))
        return out

    return st.builds(
        with_duplicates,
        st.lists(st.one_of(good(now), bad(now), unicode_edges(now)), min_size=1, max_size=12),
        st.lists(st.integers(0, 100), max_size=3),
    )


def as_records(samples: list[Sample], first_offset: int = 0) -> list[Record]:
    return [
        Record(topics.INCIDENTS, 0, first_offset + n, b"wuhan", sample.value)
        for n, sample in enumerate(samples)
    ]


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True
