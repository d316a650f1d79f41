"""Who may do what: participant session tokens, the experimenter's token, rate limits.

A participant's token is 32 random bytes (URL-safe base64) issued by the server at consent;
the database stores only its SHA-256, so a leaked database opens no session. The
experimenter's token (progress, export) is read from a file or the environment, never
from the repository, and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path

from psychoalign.web.errors import WebError

__all__ = [
    "ADMIN_TOKEN_ENV",
    "ADMIN_TOKEN_FILE_ENV",
    "RateLimiter",
    "admin_token",
    "hash_token",
    "new_token",
    "same_token",
]

#: Environment variable holding the experimenter's token.
ADMIN_TOKEN_ENV = "PSYCHOALIGN_WEB_ADMIN_TOKEN"
#: Environment variable naming a file that holds the experimenter's token.
ADMIN_TOKEN_FILE_ENV = "PSYCHOALIGN_WEB_ADMIN_TOKEN_FILE"
#: Shortest experimenter token accepted (characters).
_MIN_ADMIN_TOKEN = 16


def new_token() -> str:
    """A fresh session token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 of a token (hex), as stored in the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(given: str | None, expected: str | None) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time (False if either is None)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def admin_token(
    token: str | None = None, token_file: str | os.PathLike[str] | None = None
) -> str | None:
    """The experimenter's token: ``token``, a file's content, or the environment's.

    Looked up in order: ``token``; the file ``token_file``; ``$PSYCHOALIGN_WEB_ADMIN_TOKEN``;
    the file named by ``$PSYCHOALIGN_WEB_ADMIN_TOKEN_FILE``. None when none is set (the
    experimenter's routes then refuse every request).

    Raises
    ------
    WebError
        A token file that cannot be read, or a token shorter than 16 characters.
    """
    source, value = "admin_token", token
    if value is None and token_file is not None:
        source, value = str(token_file), _read_token_file(Path(token_file))
    if value is None and os.environ.get(ADMIN_TOKEN_ENV):
        source, value = f"${ADMIN_TOKEN_ENV}", os.environ[ADMIN_TOKEN_ENV]
    if value is None and os.environ.get(ADMIN_TOKEN_FILE_ENV):
        path = Path(os.environ[ADMIN_TOKEN_FILE_ENV])
        source, value = str(path), _read_token_file(path)
    if value is None:
        return None
    value = value.strip()
    if len(value) < _MIN_ADMIN_TOKEN:
        raise WebError(
            f"{source}: the experimenter's token has {len(value)} characters; use at least "
            f"{_MIN_ADMIN_TOKEN} (e.g. python -c 'import secrets; print(secrets.token_urlsafe())')."
        )
    return value


def _read_token_file(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise WebError(
            f"{path}: cannot read the experimenter's token file ({error.strerror})."
        ) from None


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second on average, ``burst`` at once.

    Parameters
    ----------
    rate
        Requests a second each key may make on average.
    burst
        Requests a key may make at once after a pause.

    Notes
    -----
    Each key's bucket holds up to ``burst`` tokens, refilled at ``rate`` a second; a
    request takes one, and is refused when none is left.

    Examples
    --------
    >>> limiter = RateLimiter(rate=1.0, burst=2)
    >>> [limiter.allow("a", now=0.0) for _ in range(3)]
    [True, True, False]
    >>> limiter.allow("a", now=1.0), limiter.allow("b", now=1.0)
    (True, True)
    """

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, *, now: float | None = None) -> bool:
        """Take a request from ``key``'s bucket; False when it is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > 100_000:  # forget idle keys (their buckets are full)
                self._buckets = {
                    k: v for k, v in self._buckets.items() if now - v[1] < self.burst / self.rate
                }
            return allowed

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may make its next request."""
        with self._lock:
            tokens, _ = self._buckets.get(key, (float(self.burst), 0.0))
        return max(0.0, (1.0 - tokens) / self.rate)
