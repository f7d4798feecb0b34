"""The admin panel at /admin/: Flask-Admin over the admin read use cases, its own sign-in.

An entrypoint like the HTTP API: it reaches the use cases (and through them the
adapters) only through the app's container.
"""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from marketlink.entrypoints.admin import auth
from marketlink.entrypoints.admin.dashboard import Dashboard
from marketlink.entrypoints.admin.views import list_views

URL = auth.PREFIX


def init_admin(app: Flask) -> Admin:
    """Mounts the panel on `app` (whose `container` it reads at each request)."""
    auth.install(app)
    admin = Admin(
        app,
        name="MarketLink admin",
        url=URL,
        index_view=Dashboard(name="Dashboard", url=URL, endpoint="panel"),
        # Flask-Admin's own Bootstrap 4 (the default swatch: no web fonts), served from the
        # installed package under /admin/static/.
        theme=Bootstrap4Theme(base_template="marketlink_admin/master.html", swatch="default"),
    )
    for view in list_views(app.container):  # type: ignore[attr-defined]
        admin.add_view(view)
    return admin
