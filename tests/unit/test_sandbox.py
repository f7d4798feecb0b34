"""The offline sandbox's own pieces: its signature recipe, amounts, conversion and knobs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from marketlink.sandbox.amounts import AmountFormat, in_settlement_currency, rate_for
from marketlink.sandbox.inputs import BadInput, Knobs, read_knobs
from marketlink.sandbox.ipn import is_under
from marketlink.sandbox.notices import VERIFY_KEY, VERIFY_SIGN, notice, signature
from marketlink.sandbox.routes import DHAKA
from marketlink.sandbox.state import SandboxSession, SandboxTransaction
from marketlink.sandbox.transactions import attempt, pending
from tests.unit.test_sslcommerz_signing import (
    LIBRARY_PASSWORD,
    LIBRARY_SAMPLE,
    WORKED_EXAMPLE,
    WORKED_SIGN,
)

SESSION = SandboxSession("A" * 32, "T-1", "1500.00", "BDT", "http://s", "http://f", "http://c")


class TestItsOwnSignatureRecipe:
    # Computed apart from the client's, so both are held to the reference's vectors.

    def test_the_worked_example_signs_as_published(self):
        assert signature(WORKED_EXAMPLE, WORKED_EXAMPLE, "qwerty", "md5") == WORKED_SIGN

    def test_the_official_librarys_sample_signs_as_published_both_ways(self):
        keys = LIBRARY_SAMPLE[VERIFY_KEY].split(",")
        md5 = signature(LIBRARY_SAMPLE, keys, LIBRARY_PASSWORD, "md5")
        sha2 = signature(LIBRARY_SAMPLE, keys, LIBRARY_PASSWORD, "sha256")
        assert (md5, sha2) == (LIBRARY_SAMPLE[VERIFY_SIGN], LIBRARY_SAMPLE["verify_sign_sha2"])


class TestAmounts:
    @pytest.mark.parametrize(
        ("amount_format", "written"),
        [
            (AmountFormat.TWO_PLACES, ["1500.00", "1462.50", "0.50"]),
            (AmountFormat.FOUR_PLACES, ["1500.0000", "1462.5000", "0.5000"]),
            (AmountFormat.TRIMMED, ["1500", "1462.5", "0.5"]),
        ],
    )
    def test_each_format_writes_the_same_amounts(self, amount_format, written):
        amounts = [Decimal("1500.00"), Decimal("1462.50"), Decimal("0.50")]
        assert [amount_format.write(a) for a in amounts] == written
        assert [Decimal(w) for w in written] == amounts

    def test_foreign_amounts_are_settled_in_bdt_at_fixed_rates(self):
        # The reference's own sample: 100 EUR -> 10228.84 BDT (docs/sslcommerz.md §1.2).
        assert in_settlement_currency(Decimal("100"), "EUR") == Decimal("10228.84")
        assert in_settlement_currency(Decimal("12.50"), "USD") == Decimal("1500.00")
        assert in_settlement_currency(Decimal("1500.00"), "BDT") == Decimal("1500.00")
        assert rate_for("BDT") == 1 and rate_for("XYZ") == Decimal("100.0000")


class TestWhatTheGatewayReports:
    def test_a_bdt_payment_reports_the_same_amount_twice_at_rate_1(self):
        paid = attempt(SESSION, "VALID", read_knobs({}, SESSION), _now())
        assert (paid.amount, paid.currency, paid.store_amount) == ("1500.00", "BDT", "1462.50")
        assert paid.reported_currency() == {
            "currency_type": "BDT",
            "currency_amount": "1500.00",
            "currency_rate": "1.0000",
        }

    def test_a_foreign_payment_reports_bdt_and_the_original_and_signs_both(self):
        knobs = read_knobs({"amount": "100", "currency": "eur", "amount_format": "4dp"}, SESSION)
        paid = attempt(SESSION, "VALID", knobs, _now())
        fields = notice(paid, "testbox", "qwerty")

        assert (fields["amount"], fields["currency"]) == ("10228.8400", "BDT")
        assert (fields["currency_amount"], fields["currency_type"]) == ("100.0000", "EUR")
        assert (fields["currency_rate"], fields["store_amount"]) == ("102.2884", "9973.1200")
        signed = fields[VERIFY_KEY].split(",")
        assert {"amount", "currency_amount", "currency_type", "currency_rate"} <= set(signed)
        assert fields[VERIFY_SIGN] == signature(fields, signed, "qwerty", "md5")

    def test_a_pending_session_in_another_currency_is_reported_in_bdt(self):
        usd = SandboxSession("B" * 32, "T-2", "12.50", "USD", "http://s", "http://f", "http://c")
        shown = pending(usd)
        assert (shown.status, shown.amount, shown.currency) == ("PENDING", "1500.00", "BDT")
        assert (shown.currency_amount, shown.currency_type) == ("12.50", "USD")

    def test_a_row_from_before_the_currency_columns_is_reported_as_it_was(self):
        old = SandboxTransaction("C" * 32, "T-3", "VALID", "149.00", "USD", "now", val_id="V")
        fields = notice(old, "testbox", "qwerty")
        reported = (fields["currency_type"], fields["currency_amount"], fields["currency_rate"])
        assert reported == ("USD", "149.00", "1.0000")


class TestKnobs:
    def test_by_default_amounts_are_written_with_two_places(self):
        assert read_knobs({}, SESSION) == Knobs("1500.00", "BDT", 0, 1, AmountFormat.TWO_PLACES)

    @pytest.mark.parametrize("text", ["5dp", "TRIMMED", "1500"])
    def test_an_unknown_amount_format_is_bad_input(self, text):
        with pytest.raises(BadInput, match="amount_format must be one of 2dp, 4dp, trimmed"):
            read_knobs({"amount_format": text}, SESSION)


def _now() -> datetime:
    return datetime(2026, 12, 8, 18, 0, tzinfo=DHAKA)


@pytest.mark.parametrize(
    ("url", "under"),
    [
        ("http://127.0.0.1:5000/api/v1/webhooks/sslcommerz/", True),
        ("HTTP://127.0.0.1:5000/api/v1/webhooks/sslcommerz/", True),
        ("http://127.0.0.1:5000", True),
        ("https://127.0.0.1:5000/api/v1/webhooks/sslcommerz/", False),
        ("http://127.0.0.1:5001/api/v1/webhooks/sslcommerz/", False),
        ("http://127.0.0.1/api/v1/webhooks/sslcommerz/", False),
        ("http://localhost:5000/api/v1/webhooks/sslcommerz/", False),
        ("http://127.0.0.1:5000@evil.example/ipn", False),
        ("http://user@127.0.0.1:5000/ipn", False),
        ("http://127.0.0.1:99999/ipn", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("", False),
    ],
)
def test_an_ipn_url_is_under_the_merchants_base_only_on_the_same_origin(url, under):
    assert is_under(url, "http://127.0.0.1:5000") is under


@pytest.mark.parametrize(
    ("url", "under"),
    [
        ("https://shop.example/market/api/v1/webhooks/sslcommerz/", True),
        ("https://shop.example/market", True),
        ("https://shop.example/marketplace/ipn", False),
        ("https://shop.example/other/ipn", False),
    ],
)
def test_an_ipn_url_is_under_the_merchants_base_path(url, under):
    assert is_under(url, "https://shop.example/market/") is under
