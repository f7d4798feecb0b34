"""How guessable a password is: zxcvbn (Dropbox's estimator), with its lists of common
passwords, words and names, rather than a list of our own."""

from __future__ import annotations

from collections.abc import Sequence

from zxcvbn import zxcvbn

MIN_LENGTH = 12
# zxcvbn's scale: 3 is "safely unguessable" against an online attack (about 10^8 guesses).
MIN_SCORE = 3
# zxcvbn's matching grows fast with the length; what lies beyond this adds strength anyway.
_ESTIMATED_PREFIX = 100


class ZxcvbnPasswordStrength:
    def __init__(self, min_length: int = MIN_LENGTH, min_score: int = MIN_SCORE) -> None:
        self._min_length = min_length
        self._min_score = min_score

    def weakness(self, password: str, user_inputs: Sequence[str] = ()) -> str | None:
        if len(password) < self._min_length:
            return f"The password must have at least {self._min_length} characters."
        result = zxcvbn(password[:_ESTIMATED_PREFIX], user_inputs=list(user_inputs))
        if result["score"] >= self._min_score:
            return None
        feedback = result["feedback"]
        why = feedback.get("warning") or " ".join(feedback.get("suggestions", []))
        return f"The password is too easy to guess. {why}".strip()
