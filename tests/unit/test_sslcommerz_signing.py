"""verify_sign as SSLCommerz computes it (docs/sslcommerz.md §3), against published vectors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from marketlink.adapters.sslcommerz.signing import sign, sign_sha2, verify

# §3.2: the worked example, a VALID IPN of the sandbox store (password qwerty).
WORKED_EXAMPLE = {
    "amount": "150.00",
    "bank_tran_id": "2501011200000XyZ",
    "base_fair": "0.00",
    "card_brand": "MOBILEBANKING",
    "card_issuer": "BKash Mobile Banking",
    "card_issuer_country": "Bangladesh",
    "card_issuer_country_code": "BD",
    "card_no": "",
    "card_sub_brand": "Classic",
    "card_type": "BKASH-BKash",
    "currency": "BDT",
    "currency_amount": "150.00",
    "currency_rate": "1.0000",
    "currency_type": "BDT",
    "error": "",
    "risk_level": "0",
    "risk_title": "Safe",
    "status": "VALID",
    "store_amount": "146.25",
    "store_id": "testbox",
    "tran_date": "2025-01-01 12:00:00",
    "tran_id": "ORD-1001",
    "val_id": "2501011200001AbCdEfGhIjKlMn",
    "value_a": "cart-42",
    "value_b": "",
    "value_c": "",
    "value_d": "",
}
WORKED_SIGN = "dcbf20f3843c3e1498594dc1d7970ab3"
WORKED_SIGN_AMOUNT_15 = "786acb91cfa21483ae97a58b5cbbaa6e"

# §3.2b: the official Python library's published IPN sample (password test_testemi@ssl).
LIBRARY_SAMPLE = {
    "tran_id": "5E121A0D01F92",
    "val_id": "200105225826116qFnATY9sHIwo",
    "amount": "10.00",
    "card_type": "VISA-Dutch Bangla",
    "store_amount": "9.75",
    "card_no": "418117XXXXXX6675",
    "bank_tran_id": "200105225825DBgSoRGLvczhFjj",
    "status": "VALID",
    "tran_date": "2020-01-05 22:58:21",
    "currency": "BDT",
    "card_issuer": "TRUST BANK, LTD.",
    "card_brand": "VISA",
    "card_issuer_country": "Bangladesh",
    "card_issuer_country_code": "BD",
    "store_id": "test_testemi",
    "verify_sign": "d42fab70ae0bcbda5280e7baffef60b0",
    "verify_key": (
        "amount,bank_tran_id,base_fair,card_brand,card_issuer,card_issuer_country,"
        "card_issuer_country_code,card_no,card_type,currency,currency_amount,currency_rate,"
        "currency_type,risk_level,risk_title,status,store_amount,store_id,tran_date,tran_id,"
        "val_id,value_a,value_b,value_c,value_d"
    ),
    "verify_sign_sha2": "02c0417ff467c109006382d56eedccecd68382e47245266e7b47abbb3d43976e",
    "currency_type": "BDT",
    "currency_amount": "10.00",
    "currency_rate": "1.0000",
    "base_fair": "0.00",
    "value_a": "",
    "value_b": "",
    "value_c": "",
    "value_d": "",
    "risk_level": "0",
    "risk_title": "Safe",
}
LIBRARY_PASSWORD = "test_testemi@ssl"


def signed_notice(fields: dict[str, str], password: str = "qwerty") -> dict[str, str]:
    keys = sorted(fields)
    return {**fields, "verify_key": ",".join(keys), "verify_sign": sign(fields, keys, password)}


class TestPublishedVectors:
    def test_the_worked_example_signs_as_published(self):
        assert sign(WORKED_EXAMPLE, WORKED_EXAMPLE, "qwerty") == WORKED_SIGN

    def test_the_worked_example_with_another_amount_signs_differently(self):
        changed = {**WORKED_EXAMPLE, "amount": "15.00"}
        assert sign(changed, changed, "qwerty") == WORKED_SIGN_AMOUNT_15

    def test_the_password_digest_is_sorted_in_not_appended(self):
        digest = hashlib.md5(b"qwerty").hexdigest()  # noqa: S324 - the protocol's hash
        assert digest == "d8578edf8458ce06fbc5bb76a58c5ca4"
        body = "&".join(
            f"{k}={v}" for k, v in sorted({**WORKED_EXAMPLE, "store_passwd": digest}.items())
        )
        assert "store_id=testbox&store_passwd=d8578edf" in body
        assert hashlib.md5(body.encode()).hexdigest() == WORKED_SIGN  # noqa: S324

    def test_the_worked_example_verifies_and_its_tampered_copy_does_not(self):
        notice = {
            **WORKED_EXAMPLE,
            "verify_key": ",".join(sorted(WORKED_EXAMPLE)),
            "verify_sign": WORKED_SIGN,
        }
        assert verify(notice, "qwerty")
        assert not verify({**notice, "amount": "15.00"}, "qwerty")
        assert verify({**notice, "amount": "15.00", "verify_sign": WORKED_SIGN_AMOUNT_15}, "qwerty")

    def test_the_library_sample_verifies_with_its_store_password(self):
        assert verify(LIBRARY_SAMPLE, LIBRARY_PASSWORD)
        assert not verify(LIBRARY_SAMPLE, "qwerty")

    def test_the_library_sample_signs_as_published(self):
        keys = LIBRARY_SAMPLE["verify_key"].split(",")
        assert sign(LIBRARY_SAMPLE, keys, LIBRARY_PASSWORD) == "d42fab70ae0bcbda5280e7baffef60b0"

    def test_the_library_sample_sha2_matches_the_sha256_recipe(self):
        keys = LIBRARY_SAMPLE["verify_key"].split(",")
        assert sign_sha2(LIBRARY_SAMPLE, keys, LIBRARY_PASSWORD) == (
            "02c0417ff467c109006382d56eedccecd68382e47245266e7b47abbb3d43976e"
        )


class TestVerifyRefuses:
    @pytest.mark.parametrize("missing", ["verify_sign", "verify_key"])
    def test_a_notice_without_its_signature_fields(self, missing):
        notice = dict(LIBRARY_SAMPLE)
        del notice[missing]
        assert not verify(notice, LIBRARY_PASSWORD)

    def test_an_empty_signature(self):
        assert not verify({**LIBRARY_SAMPLE, "verify_sign": ""}, LIBRARY_PASSWORD)

    def test_a_signed_field_missing_from_the_notice(self):
        notice = dict(LIBRARY_SAMPLE)
        del notice["value_d"]  # listed in verify_key, empty, and gone
        assert not verify(notice, LIBRARY_PASSWORD)

    def test_an_upper_case_or_non_ascii_signature_without_raising(self):
        upper = LIBRARY_SAMPLE["verify_sign"].upper()
        assert not verify({**LIBRARY_SAMPLE, "verify_sign": upper}, LIBRARY_PASSWORD)
        assert not verify({**LIBRARY_SAMPLE, "verify_sign": "é" * 32}, LIBRARY_PASSWORD)

    def test_a_field_that_must_be_signed_but_is_not(self):
        notice = signed_notice({"status": "VALID", "amount": "10.00"})
        notice["tran_id"] = "SOMEONE-ELSES"  # added after signing: not covered
        assert verify(notice, "qwerty")
        assert not verify(notice, "qwerty", must_sign=["tran_id"])
        assert verify(notice, "qwerty", must_sign=["status"])

    def test_anything_when_the_password_is_empty(self):
        # An empty WEBHOOK_SECRET would let anyone sign a notice: nothing verifies with it.
        assert not verify(signed_notice({"status": "FAILED", "tran_id": "T1"}, ""), "")

    def test_extra_unsigned_fields_do_not_matter(self):
        assert verify({**LIBRARY_SAMPLE, "extra": "x"}, LIBRARY_PASSWORD)


# Field names and values a form can carry; the protocol's own names are reserved.
RESERVED = {"verify_sign", "verify_key", "verify_sign_sha2", "store_passwd"}
names = st.text(
    alphabet=st.characters(exclude_characters=",", exclude_categories=("Cs",)),
    min_size=1,
    max_size=20,
).filter(lambda name: name not in RESERVED)
values = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
field_sets = st.dictionaries(names, values, min_size=1, max_size=12)
passwords = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)


@given(fields=field_sets, password=passwords)
def test_what_sign_produces_verifies(fields, password):
    assert verify(signed_notice(fields, password), password)


@given(fields=field_sets, password=passwords, data=st.data())
def test_changing_any_one_signed_value_breaks_the_signature(fields, password, data):
    notice = signed_notice(fields, password)
    name = data.draw(st.sampled_from(sorted(fields)), label="field")
    new_value = data.draw(values.filter(lambda v: v != fields[name]), label="new value")
    assert not verify({**notice, name: new_value}, password)


@given(fields=field_sets, password=passwords, other=passwords)
def test_another_password_does_not_verify(fields, password, other):
    assume(other != password)
    assert not verify(signed_notice(fields, password), other)


# Any form a client can post: any names and values, the protocol's own included, lone
# surrogates and NUL bytes too.
hostile_text = st.text(max_size=40)
hostile_forms = st.dictionaries(
    st.one_of(st.sampled_from(sorted(RESERVED)), hostile_text), hostile_text, max_size=12
)


@given(fields=hostile_forms, password=st.one_of(st.just(""), passwords))
def test_a_hostile_form_never_raises_and_verifies_only_when_correctly_signed(fields, password):
    verified = verify(fields, password)
    assert isinstance(verified, bool)
    if verified:
        keys = fields["verify_key"].split(",")
        assert password
        assert fields["verify_sign"] == sign(fields, keys, password)
