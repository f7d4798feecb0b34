"""The offline SSLCommerz sandbox: a stand-in for the gateway, served by the app itself.

It speaks the protocol of docs/sslcommerz.md (simulator checklist §8) under the URL prefix
`/_sandbox/sslcommerz`, so a client pointed at `<app>/_sandbox/sslcommerz` cannot tell
it from `https://sandbox.sslcommerz.com`:

- `POST gwprocess/v4/api.php` opens a session (form-urlencoded or multipart).
- `GET EasyCheckOut/testcde<sessionkey>` is the hosted payment page; `POST` to it with
  `outcome=success|fail|cancel` completes the payment as a customer would: the IPN goes
  to `ipn_url` first, then the browser gets an auto-submitting form that POSTs the same
  fields to the success/fail/cancel URL. Test-only fields: `amount`, `currency`,
  `risk_level=1`, `ipn=0`, `ipn_repeat=<n>` (at most 20), and `amount_format=2dp|4dp|trimmed`
  (amounts as `1500.00`, `1500.0000` or `1500`, as the live gateway sends them).
- `validator/api/validationserverAPI.php` answers VALID for a val_id the first time,
  VALIDATED after, INVALID_TRANSACTION for one it never issued.
- `validator/api/merchantTransIDvalidationAPI.php` queries by tran_id or sessionkey,
  initiates refunds and reports their status.

Choices where the reference leaves room: a payment in another currency than BDT is
converted at a fixed rate of the sandbox's own (`amounts.RATES`) and reported as the
reference says, BDT in `amount`/`currency` and the original in `currency_type`/
`currency_amount`/`currency_rate`; a session nobody has paid yet shows up in queries as
one PENDING element; one refund per bank_tran_id (a second gets `processing` and the
first's refund_ref_id), and a refund is reported `refunded` as soon as it exists. A
session is paid once: a second outcome is 409.

It stands for an external system, so it imports nothing of MarketLink (import-linter
holds it to that), and only the container wires it in. Modules:

- `state`: the records, the `SandboxStore` port, its in-memory and SQL stores, the tables
  (made by the app's migrations, revision 0003, never at request time);
- `inputs`: what the merchant and the tester send, checked; `amounts`: conversion to BDT
  and the amount formats; `transactions`: the customer's attempt and how the APIs report it;
- `notices`: the IPN's fields, signed; `ipn`: the IPN sender;
- `pages`: the HTML pages; `refunds`: the refund API's rules; `routes`: the Flask blueprint.
"""
