"""Small HTML pages for the routes a browser lands on (the root, the pay link, the returns).

A person sees these, not a program: a title, a sentence, no stack trace, never cached,
and no cookie is ever set on them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from flask import Response

# How the routes that answer these pages document them (OpenAPI).
HTML = "text/html"
HTML_PAGE = {"type": "string", "description": "A small HTML page, for a person to read"}

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.3rem}li{margin:.3rem 0}.note{color:#666;font-size:.9rem}"
)


def page(
    title: str,
    message: str,
    status: int = 200,
    *,
    note: str = "",
    links: Sequence[tuple[str, str, str]] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """A complete HTML document; every text is escaped.

    `links` are (href, label, what it is), listed under the message.
    """
    full_title = title if "MarketLink" in title else f"{title} - MarketLink"
    extra = ""
    if links:
        items = "".join(
            f'<li><a href="{html.escape(href)}">{html.escape(label)}</a>: {html.escape(about)}</li>'
            for href, label, about in links
        )
        extra += f"<ul>{items}</ul>"
    if note:
        extra += f'<p class="note">{html.escape(note)}</p>'
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(full_title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{extra}</body></html>"
    )
    response = Response(document, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
