"""One small typed hierarchy for everything that can go wrong, so strategies act on types.

Provider errors are normalised from HTTP statuses and bodies (see `providers._http`);
messages never contain an API key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from langroute.types import Usage


class LangrouteError(Exception):
    """Base of every error langroute raises."""


class ConfigError(LangrouteError, ValueError):
    """The configuration is invalid; the message names the field and how to fix it."""


def invalid_input(
    what: str,
    error: ValidationError,
    known: Iterable[str] = (),
    *,
    unknown: str = "unknown name",
    advice: str = "",
) -> ConfigError:
    """A `ConfigError` for a call's invalid `what`: each problem where it is, then the known
    names (when a name given is unknown) and `advice`. The values given are left out: they
    may be prompts or keys."""
    errors = error.errors()
    unknown_here = [e["type"] == "extra_forbidden" and len(e["loc"]) <= 1 for e in errors]
    problems = "; ".join(
        (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "")
        + (unknown if here else "unknown field" if e["type"] == "extra_forbidden" else e["msg"])
        for e, here in zip(errors, unknown_here, strict=True)
    )
    names = sorted(known) if any(unknown_here) else []
    tail = f". Known: {', '.join(names)}" if names else ""
    return ConfigError(f"invalid {what}: {problems}{tail}{'. ' + advice if advice else ''}")


_URL_USERINFO = re.compile(r"://([^:/@\s'\"]*)(:[^@/\s'\"]*)?@")


def without_url_passwords(text: str) -> str:
    """`text` with the credentials of any URL in it masked — `redis://:***@host`,
    `https://user:***@proxy`, `https://***@proxy` (a bare token) — for messages and reprs
    that show a configured value."""

    def masked(match: re.Match[str]) -> str:
        user, password = match.group(1), match.group(2)
        return f"://{user}:***@" if password is not None else "://***@"

    return _URL_USERINFO.sub(masked, text)


def refuse_unknown_arguments(
    owner: str, given: Iterable[str], known: Iterable[str], per_call: str
) -> None:
    """A `ConfigError` naming the arguments an adapter class does not have (never their
    values: one may be a key), and where candidates and call parameters go instead."""
    names = set(known)
    unknown = sorted(set(given) - names)
    if unknown:
        raise ConfigError(
            f"{owner} has no argument {', '.join(map(repr, unknown))}: candidates go in "
            "models=[...] (their own settings, keys and URLs on them), parameters for every "
            f"call in {per_call}={{...}} or the call itself; its own arguments are "
            + ", ".join(sorted(names))
        )


class UnknownModelError(LangrouteError, KeyError):
    """A model name is not in the registry; the message lists the known names."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(name)

    def __str__(self) -> str:
        close = [k for k in self.known if name_stem(self.name) in k]
        hint = f" Did you mean: {', '.join(close[:5])}?" if close else ""
        return (
            f"unknown model {self.name!r}.{hint} Known models: {', '.join(self.known)}. "
            "Add it with Registry.register(ModelSpec(...)) or a models file."
        )


def name_stem(name: str) -> str:
    return name.split("/")[-1].split("-")[0].lower()


class NoCandidateError(LangrouteError):
    """Every model was filtered out before any call; `rejected` says why for each one."""

    def __init__(self, message: str, rejected: Sequence[Any] = ()) -> None:
        self.rejected = list(rejected)
        lines = [message] + [f"  - {r.model}: {r.reason}" for r in self.rejected]
        super().__init__("\n".join(lines))


class ProviderError(LangrouteError):
    """A call to a model provider failed. `model` and `provider` say which one."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        model: str | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.model = model
        self.provider = provider

    def __str__(self) -> str:
        where = f"{self.model}@{self.provider}: " if self.model else ""
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{where}{self.message}{status}"


class RateLimited(ProviderError):
    """HTTP 429; `retry_after` is the provider's Retry-After in seconds, when it gave one."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Timeout(ProviderError):
    """The provider did not answer (or stopped answering) in time."""

    retryable = True


class DeadlineExceeded(Timeout):
    """The call's deadline (`deadline_s`) passed: nothing more is tried for it."""

    retryable = False


class CircuitOpen(ProviderError):
    """Every deployment of the model is ejected by its circuit breaker or cooling down after
    rate limits: no call was made."""

    retryable = False


class LimitExhausted(ProviderError):
    """No deployment of the model has rpm/tpm budget left for this request right now: no
    call was made."""

    retryable = False


class ServerError(ProviderError):
    """HTTP 5xx or an overloaded provider."""

    retryable = True


class ConnectionFailed(ProviderError):
    """The connection could not be made or was cut."""

    retryable = True


class MalformedResponse(ProviderError):
    """The provider answered with something that is not the protocol (e.g. broken JSON)."""

    retryable = True


class ContextTooLong(ProviderError):
    """The prompt (plus max output) does not fit the model's context window."""


class ContentFiltered(ProviderError):
    """The provider's content filter refused the prompt or the answer."""

    usage: Usage | None = None
    """What the refused call used, when the provider said: it may bill it."""


class AuthError(ProviderError):
    """HTTP 401/403: the key is missing, wrong or not allowed this model."""


class BadRequest(ProviderError):
    """HTTP 400/404/422: the request itself is wrong; another model rarely helps."""


class StreamInterrupted(LangrouteError):
    """A stream failed after text was already delivered, so no fallback could hide it.

    `partial` holds exactly what the caller has already received; it is never re-sent.
    """

    decision: Any = None
    """The routed call's `Decision` (set by the router): every attempt."""

    def __init__(self, cause: ProviderError, partial: str, model: str) -> None:
        self.cause = cause
        self.partial = partial
        self.model = model
        super().__init__(
            f"stream from {model} failed after {len(partial)} characters were delivered "
            f"({type(cause).__name__}: {cause}); no fallback after the first token, "
            "since the caller has already seen part of this answer"
        )


class AllModelsFailed(ExceptionGroup[ProviderError], LangrouteError):
    """Every model failed. `exceptions` holds each model's last error, in order;
    `decision.attempts` (set by the router) lists every attempt, retries included."""

    decision: Any = None

    def __new__(cls, message: str, exceptions: Sequence[ProviderError]) -> AllModelsFailed:
        if not exceptions:  # an exception group cannot be empty; the caller still gets this
            exceptions = [ProviderError(message)]
        summary = "; ".join(f"[{i}] {e!s}" for i, e in enumerate(exceptions, 1))
        return super().__new__(cls, f"{message}: {summary}", list(exceptions))

    def derive(self, excs: Sequence[ProviderError]) -> AllModelsFailed:  # type: ignore[override]
        return AllModelsFailed("all models failed", excs)


class BudgetExceeded(ProviderError):
    """A budget cannot hold this call's worst-case cost: no call was made.

    `budget` names it (e.g. `tenant=acme per day`), with its `limit_usd`, what is already
    `spent_usd`, what calls in flight hold (`held_usd`) and what this call needed
    (`needed_usd`).
    """

    retryable = False
    decision: Any = None
    """The routed call's `Decision` when every model was refused (set by the router)."""

    def __init__(
        self,
        budget: str,
        *,
        limit_usd: float,
        spent_usd: float,
        held_usd: float,
        needed_usd: float,
        model: str | None = None,
    ) -> None:
        self.budget = budget
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.held_usd = held_usd
        self.needed_usd = needed_usd
        super().__init__(
            f"budget {budget} is exhausted: limit ${limit_usd:.6f}, spent ${spent_usd:.6f}, "
            f"held by calls in flight ${held_usd:.6f}; this call needs up to "
            f"${needed_usd:.6f} (raise the limit, lower max_tokens, or wait for the next period)",
            model=model,
            provider="langroute-budget",
        )
