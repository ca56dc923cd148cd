"""Reading an HTML document back as elements (tag, attributes), for the report's tests."""

from __future__ import annotations

from html.parser import HTMLParser

import msgspec


class Element(msgspec.Struct, frozen=True):
    tag: str
    attrs: dict[str, str]

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def elements(document: str) -> list[Element]:
    """Every start tag in document order, attribute values unescaped."""
    collector = _Collector()
    collector.feed(document)
    collector.close()
    return collector.found


def by_class(document: str | list[Element], tag: str, cls: str) -> list[Element]:
    found = elements(document) if isinstance(document, str) else document
    return [e for e in found if e.tag == tag and cls in e.classes]


def pairs(points: str) -> list[tuple[float, float]]:
    """An SVG `points` attribute as (x, y) pairs."""
    out = []
    for pair in points.split():
        x, y = pair.split(",")
        out.append((float(x), float(y)))
    return out
