"""CAP 1.2 alerts read safely: parsed without entities, DTDs or network (no XXE), validated
against the OASIS schema vendored in events/schemas/CAP-v1.2.xsd, then reduced to what
dispatch needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from lxml import etree

from models.cap_area import Area, parse_circle, parse_polygon

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_NS = {"cap": CAP_NS}
_XSD = Path(__file__).parent / "schemas" / "CAP-v1.2.xsd"
MAX_ALERT_BYTES = 512 * 1024


class InvalidAlert(ValueError):
    """Not a valid CAP 1.2 alert; the message is the reason a dead letter keeps."""


@dataclass(frozen=True, slots=True)
class CapAlert:
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str  # Alert, Update, Cancel, Ack, Error
    references: str
    event: str
    severity: str
    headline: str
    areas: tuple[Area, ...]  # of every <info>: a warning in two languages names both's areas
    expires: datetime | None = None


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_XSD), _parser()))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )


def parse_alert(xml: bytes) -> CapAlert:
    """The alert, or InvalidAlert saying why (not XML, a DTD or entity, or a schema error)."""
    if len(xml) > MAX_ALERT_BYTES:
        raise InvalidAlert(f"the alert is larger than {MAX_ALERT_BYTES} bytes")
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidAlert(f"not well-formed XML: {exc}") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise InvalidAlert("a DTD or entity declaration is refused (XXE)")
    schema = _schema()
    if not schema.validate(root):
        error = schema.error_log.last_error
        raise InvalidAlert(f"not CAP 1.2: line {error.line}: {error.message}")
    return _alert_of(root)


def _text(node: etree._Element, path: str) -> str:
    found = node.find(path, _NS)
    return (found.text or "").strip() if found is not None else ""


def _area(node: etree._Element) -> Area:
    geocodes = tuple(
        (g.findtext("cap:value", "", _NS) or "").strip() for g in node.findall("cap:geocode", _NS)
    )
    try:
        polygons = tuple(parse_polygon(p.text or "") for p in node.findall("cap:polygon", _NS))
    except ValueError as exc:
        raise InvalidAlert(f"a polygon is malformed: {exc}") from exc
    try:
        circles = tuple(parse_circle(c.text or "") for c in node.findall("cap:circle", _NS))
    except ValueError as exc:
        raise InvalidAlert(f"a circle is malformed: {exc}") from exc
    return Area(_text(node, "cap:areaDesc"), geocodes, polygons, circles)


def _main_info(root: etree._Element) -> etree._Element | None:
    """The Chinese <info> where the alert has one in several languages, else the first."""
    infos = root.findall("cap:info", _NS)
    for info in infos:
        if _text(info, "cap:language").lower().startswith("zh"):
            return info
    return infos[0] if infos else None


def _expires(info: etree._Element | None) -> datetime | None:
    text = _text(info, "cap:expires") if info is not None else ""
    return datetime.fromisoformat(text) if text else None  # the schema fixed its form


def _alert_of(root: etree._Element) -> CapAlert:
    info = _main_info(root)
    areas = tuple(_area(a) for a in root.findall("cap:info/cap:area", _NS))
    return CapAlert(
        identifier=_text(root, "cap:identifier"),
        sender=_text(root, "cap:sender"),
        sent=_text(root, "cap:sent"),
        status=_text(root, "cap:status"),
        msg_type=_text(root, "cap:msgType"),
        references=_text(root, "cap:references"),
        event=_text(info, "cap:event") if info is not None else "",
        severity=_text(info, "cap:severity") if info is not None else "",
        headline=_text(info, "cap:headline") if info is not None else "",
        areas=areas,
        expires=_expires(info),
    )
