"""The dashboard, `/admin/`: the marketplace at a glance and a chart of the last 14 days.

The figures come from the AdminDashboard use case (aggregates in SQL). The chart is an
SVG drawn here by pygal and put inline in the page: readable without JavaScript, and
with pygal's own script (which it would load from a CDN) switched off.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pygal
from flask import current_app, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from markupsafe import Markup

from marketlink.application.admin_queries import DashboardFigures
from marketlink.entrypoints.admin.auth import LOGIN_ENDPOINT, current_actor, current_admin_user


def chart_svg(figures: DashboardFigures) -> Markup:
    """Orders placed (bars) and paid revenue (a line, on its own axis) per day, as SVG."""
    chart = pygal.Bar(
        js=[],  # no pygal.js from a CDN: the SVG stands on its own
        disable_xml_declaration=True,
        show_legend=True,
        legend_at_bottom=True,
        width=900,
        height=320,
        x_label_rotation=30,
        explicit_size=False,
        title="Orders and paid revenue per day (last 14 days)",
    )
    chart.x_labels = [day.day.strftime("%d %b") for day in figures.series]
    chart.add("Orders placed", [day.orders_placed for day in figures.series])
    chart.add(
        "Paid revenue (BDT)",
        # A float only to place a point on the drawing: the figures stay Decimal.
        [float(day.paid_revenue.amount) for day in figures.series],
        secondary=True,
    )
    # The SVG is pygal's own output; the only text in it is our day labels and numbers.
    return Markup(chart.render(is_unicode=True))  # noqa: S704


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


class Dashboard(AdminIndexView):
    def is_accessible(self) -> bool:
        return current_admin_user() is not None

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return redirect(url_for(LOGIN_ENDPOINT, next=request.full_path.rstrip("?")))

    @expose("/")
    def index(self) -> Any:
        use_case = current_app.container.admin_dashboard()  # type: ignore[attr-defined]
        figures: DashboardFigures = use_case(current_actor())
        return self.render(
            "marketlink_admin/dashboard.html",
            figures=figures,
            chart=chart_svg(figures),
            money=money,
        )
