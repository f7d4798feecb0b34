"""The sandbox's HTML: the hosted payment page, the return form, and the error pages.

Self-contained pages (no external assets: the sandbox works offline), never cached.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from flask import Response

from marketlink.sandbox.amounts import AmountFormat
from marketlink.sandbox.inputs import MAX_IPN_REPEAT
from marketlink.sandbox.state import SandboxSession

TITLE = "SSLCommerz sandbox"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.3rem;color:#0b6b3a}dl{display:grid;grid-template-columns:auto 1fr;"
    "gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}button{padding:.5rem 1rem;margin:.2rem}"
    "label{display:block;margin:.4rem 0}details{margin-top:1rem}.note{color:#666;font-size:.9rem}"
)
_FORMAT_LABELS = {
    AmountFormat.TWO_PLACES: "1500.00 (usual)",
    AmountFormat.FOUR_PLACES: "1500.0000",
    AmountFormat.TRIMMED: "1500 (no trailing zeros)",
}


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


def page(title: str, body: str, status: int = 200) -> Response:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_esc(title)}</h1>{body}"
        '<p class="note">Offline SSLCommerz sandbox: no money moves.</p></body></html>'
    )
    response = Response(document, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def unknown_session() -> Response:
    return page("Unknown payment session", "<p>This payment session does not exist.</p>", 404)


def bad_request(message: str) -> Response:
    return page("Bad request", f"<p>{_esc(message)}</p>", 400)


def already_completed() -> Response:
    return page(
        "Payment already completed",
        "<p>This session already has an outcome: a session is paid once.</p>",
        409,
    )


def payment_page(session: SandboxSession, store_id: str, action: str) -> Response:
    """The hosted page: the session's details and, while it is open, the customer's choices."""
    rows = [
        ("Store", f"{store_id} (Demo)"),
        ("Amount", f"{session.amount} {session.currency}"),
        ("Transaction", session.tran_id),
        ("Product", session.product_name),
        ("Customer", " ".join(filter(None, (session.cus_name, session.cus_email)))),
    ]
    details = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in rows)
    if session.outcome:
        body = f"<dl>{details}</dl><p>This session is closed: {_esc(session.outcome)}.</p>"
        return page(TITLE, body)
    price = _esc(f"{session.amount} {session.currency}")
    formats = "".join(
        f'<option value="{_esc(value)}">{_esc(label)}</option>'
        for value, label in _FORMAT_LABELS.items()
    )
    body = f"""<dl>{details}</dl>
<form method="post" action="{_esc(action)}">
<p class="actions">
<button type="submit" name="outcome" value="success">Pay {price}</button>
<button type="submit" name="outcome" value="fail">Fail</button>
<button type="submit" name="outcome" value="cancel">Cancel</button>
</p>
<details><summary>Test knobs</summary>
<label>Paid amount
<input name="amount" inputmode="decimal" placeholder="{_esc(session.amount)}"></label>
<label>Currency
<input name="currency" maxlength="3" placeholder="{_esc(session.currency)}"></label>
<label>Risk level <select name="risk_level">
<option value="0">0 (safe)</option><option value="1">1 (high risk)</option></select></label>
<label>IPN <select name="ipn">
<option value="1">deliver</option><option value="0">lose it</option></select></label>
<label>IPN deliveries
<input type="number" name="ipn_repeat" min="0" max="{MAX_IPN_REPEAT}" value="1"></label>
<label>Amounts sent as <select name="amount_format">{formats}</select></label>
</details>
</form>"""
    return page(TITLE, body)


def return_page(target: str, notice: Mapping[str, str], status: str) -> Response:
    """The form SSLCommerz makes the browser POST to the merchant, submitted by a script."""
    inputs = "\n".join(
        f'<input type="hidden" name="{_esc(name)}" value="{_esc(value)}">'
        for name, value in notice.items()
    )
    body = f"""<form id="sslcommerz-return" method="post" action="{_esc(target)}">
{inputs}
<p>Payment {_esc(status)}. Returning to the merchant&hellip;</p>
<button type="submit">Continue to the merchant</button>
</form>
<script>document.getElementById("sslcommerz-return").submit();</script>"""
    return page(TITLE, body)
