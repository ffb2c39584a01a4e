"""SVG from outside dagc's own code (what Graphviz prints) made safe to write and to inline
into report.html: parsed, and re-serialised with only what a drawing needs.

Input: SVG text. Output: SVG text, or `UnsafeSvg` when it is not a well-formed SVG document.

Kept: the elements of a static drawing (`ELEMENTS`), their attributes, text and `<title>`
tooltips. Dropped: every other element with its content (`<script>`, `<foreignObject>`,
`<image>`, `<use>`, `<style>`…), event handlers (`on…`), links that leave the document (`href`
other than `#…`), attribute values that load something (`url(` to anything but `#…`,
`javascript:`), comments and processing instructions. A document with an internal DTD subset
or entities is refused (expat would expand them); Graphviz writes neither. Text and attribute
values are written through `xml.sax.saxutils`' escaping, and attributes in the XLink namespace
as `xlink:…`, which the HTML parser reads back into that namespace when the SVG is inlined.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

__all__ = ["UnsafeSvg", "safe_svg", "ELEMENTS", "MAX_DEPTH"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ELEMENTS = frozenset({"svg", "g", "title", "desc", "path", "polygon", "polyline", "ellipse", "circle", "rect", "line",
                      "text", "tspan", "a", "defs", "linearGradient", "radialGradient", "stop", "clipPath", "marker"})
MAX_DEPTH = 64                  # Graphviz nests 5 deep; a document deeper than this is refused
_DOCTYPE = re.compile(r"<!DOCTYPE[^>\[]*>", re.I)
_LOADS = re.compile(r"url\s*\(\s*['\"]?\s*(?!#)|javascript:|expression\s*\(|@import", re.I)


class UnsafeSvg(ValueError):
    """The text is not an SVG document dagc can re-serialise; the message says why."""


def _attr_name(key: str) -> str | None:
    if key.startswith("{"):
        ns, local = key[1:].split("}", 1)
        if ns == XLINK_NS:
            return f"xlink:{local}"
        return f"xml:{local}" if ns == XML_NS else None
    return key


def _attrs(el: ET.Element) -> str:
    out = []
    for key, value in el.attrib.items():
        name = _attr_name(key)
        if name is None or name.lower().startswith("on") or _LOADS.search(value):
            continue
        if name.endswith("href") and not value.startswith("#"):
            continue
        out.append(f" {name}={quoteattr(value)}")
    return "".join(out)


def _write(el: ET.Element, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UnsafeSvg(f"it nests more than {MAX_DEPTH} elements deep")
    tag = el.tag if isinstance(el.tag, str) else ""
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    if ns == SVG_NS and local in ELEMENTS:
        extra = f' xmlns="{SVG_NS}" xmlns:xlink="{XLINK_NS}"' if depth == 0 else ""
        out.append(f"<{local}{extra}{_attrs(el)}>{escape(el.text or '')}")
        for child in el:
            _write(child, out, depth + 1)
        out.append(f"</{local}>")
    out.append(escape(el.tail or ""))


def safe_svg(svg: str) -> str:
    """`svg` parsed and written again with only a drawing's elements and attributes.

    Raises:
        UnsafeSvg: it does not parse, is not an `<svg>` document, carries a DTD subset or
            entities, or nests too deeply.

    Example:
        >>> safe_svg('<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script>'
        ...          '<a href="http://e"><text onclick="x()">1 &lt; 2</text></a></svg>').split(">", 2)[2].strip()
        '<a><text>1 &lt; 2</text></a></svg>'
    """
    body = _DOCTYPE.sub("", svg, count=1)
    if "<!DOCTYPE" in body.upper() or "<!ENTITY" in body.upper():
        raise UnsafeSvg("it declares a DTD subset or entities")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise UnsafeSvg(f"it is not well-formed XML ({exc})") from exc
    if root.tag != f"{{{SVG_NS}}}svg":
        raise UnsafeSvg(f"its root is {root.tag!r}, not an SVG <svg>")
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    root.tail = None
    _write(root, out, 0)
    return "".join(out) + "\n"
