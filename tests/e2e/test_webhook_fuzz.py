"""The IPN endpoint under arbitrary form bodies: never a 5xx, nothing forged accepted."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketlink.adapters.sslcommerz.signing import sign

WEBHOOK = "/api/v1/webhooks/sslcommerz/"
PROTOCOL_NAMES = ["tran_id", "val_id", "status", "amount", "verify_sign", "verify_key"]
text = st.text(max_size=60)  # NUL bytes and any script; forms carry no lone surrogates
forms = st.dictionaries(st.one_of(st.sampled_from(PROTOCOL_NAMES), text), text, max_size=10)

# One app serves every example: posting a notice that is refused changes nothing to share.
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(form=forms)
def test_an_arbitrary_form_is_refused_without_a_server_error(client, form):
    response = client.post(WEBHOOK, data=form)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.is_json


@FUZZ
@given(tran_id=text, status=st.sampled_from(["FAILED", "CANCELLED", "VALID", "EXPIRED", "x"]))
def test_a_signed_notice_for_anything_never_fails_the_server(client, tran_id, status):
    fields = {"tran_id": tran_id, "status": status, "val_id": ""}
    keys = sorted(fields)
    notice = {**fields, "verify_key": ",".join(keys), "verify_sign": sign(fields, keys, "qwerty")}
    response = client.post(WEBHOOK, data=notice)
    # Unknown tran_ids are answered (rejected); malformed ones refused; never a 5xx.
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    assert response.is_json
