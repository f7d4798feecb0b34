"""The root, `GET /`: a small page that leads to what this server serves.

`marketlink run` says "Running on http://127.0.0.1:8000"; a person who opens that finds
the way to the API's documentation, the admin panel and the health checks here. A link
appears only when the app serves its target, so the page never points nowhere.
"""

from __future__ import annotations

from flask import Flask, Response, current_app

from marketlink.entrypoints.http.pages import page

# (path, label, what it is): in the order a newcomer wants them.
DESTINATIONS = (
    ("/swagger/", "Swagger UI", "the API's documentation: sign in, press Authorize, try a call"),
    ("/openapi.json", "OpenAPI document", "the complete description of the API, for clients"),
    # The panel's sign-in page: /admin/ itself sends a visitor there first.
    ("/admin/login", "Admin panel", "sign in with an admin account"),
    ("/healthz", "Health", "the process is up"),
    ("/readyz", "Readiness", "the database (and Redis, when configured) answer"),
)


def register_home(app: Flask) -> None:
    app.add_url_rule("/", "home", home)


def home() -> Response:
    served = {rule.rule for rule in current_app.url_map.iter_rules()}
    links = [destination for destination in DESTINATIONS if destination[0] in served]
    return page(
        "MarketLink",
        "Book local repair shops and pay through SSLCommerz. This server is the API; start here:",
        links=links,
    )
