"""The offline sandbox's own pieces: its signature recipe."""

from __future__ import annotations

from marketlink.sandbox.notices import VERIFY_KEY, VERIFY_SIGN, signature
from tests.unit.test_sslcommerz_signing import (
    LIBRARY_PASSWORD,
    LIBRARY_SAMPLE,
    WORKED_EXAMPLE,
    WORKED_SIGN,
)


class TestItsOwnSignatureRecipe:
    # Computed apart from the client's, so both are held to the reference's vectors.

    def test_the_worked_example_signs_as_published(self):
        assert signature(WORKED_EXAMPLE, WORKED_EXAMPLE, "qwerty", "md5") == WORKED_SIGN

    def test_the_official_librarys_sample_signs_as_published_both_ways(self):
        keys = LIBRARY_SAMPLE[VERIFY_KEY].split(",")
        md5 = signature(LIBRARY_SAMPLE, keys, LIBRARY_PASSWORD, "md5")
        sha2 = signature(LIBRARY_SAMPLE, keys, LIBRARY_PASSWORD, "sha256")
        assert (md5, sha2) == (LIBRARY_SAMPLE[VERIFY_SIGN], LIBRARY_SAMPLE["verify_sign_sha2"])
