"""Small HTML pages for the routes a browser lands on (the pay link, the gateway's returns).

A person sees these, not a program: a title, a sentence, no stack trace, never cached,
and no cookie is ever set on them.
"""

from __future__ import annotations

import html

from flask import Response

# How the routes that answer these pages document them (OpenAPI).
HTML = "text/html"
HTML_PAGE = {"type": "string", "description": "A small HTML page, for a person to read"}

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.3rem}.note{color:#666;font-size:.9rem}"
)


def page(
    title: str,
    message: str,
    status: int = 200,
    *,
    note: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """A complete HTML document; `title`, `message` and `note` are escaped."""
    extra = f'<p class="note">{html.escape(note)}</p>' if note else ""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} - MarketLink</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>{extra}</body></html>"
    )
    response = Response(document, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
