"""Open311 GeoReport v2 documents: the same records as JSON or as the spec's XML."""

import json
from typing import Any
from xml.etree import ElementTree

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(parent: ElementTree.Element, name: str, value: Any) -> None:
    """One field; a list becomes a container of the singular (attributes -> attribute)."""
    node = ElementTree.SubElement(parent, name)
    if isinstance(value, list):
        singular = name[:-1] if name.endswith("s") else name
        for item in value:
            _fill(ElementTree.SubElement(node, singular), item)
    elif isinstance(value, dict):
        _fill(node, value)
    else:
        node.text = _text(value)


def _fill(node: ElementTree.Element, record: dict[str, Any]) -> None:
    for key, value in record.items():
        _element(node, key, value)


def render(fmt: str, root: str, item: str | None, body: Any) -> tuple[bytes, str]:
    """The document and its content type; `item` names each record of a list under `root`."""
    if fmt == "json":
        return json.dumps(body, ensure_ascii=False).encode(), FORMATS["json"]
    top = ElementTree.Element(root)
    if item is None:
        _fill(top, body)
    else:
        for record in body:
            _fill(ElementTree.SubElement(top, item), record)
    xml = ElementTree.tostring(top, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>{xml}'.encode(), FORMATS["xml"]


def errors(fmt: str, code: int, description: str) -> tuple[bytes, str]:
    """The spec's error document: a list of {code, description}."""
    return render(fmt, "errors", "error", [{"code": code, "description": description}])
