"""Model versioning: aliases pinned to provider versions, staged rollouts sticky per user,
instant rollback.

A router model name is an alias (`gpt-4o`); the provider is called with a pinned version
(`gpt-4o-2024-08-06`). `stage(alias, new_version, percent)` sends that share of users to the
new version: a user's bucket is a hash of the alias, the rollout's salt and the user (the
tenant, else the request id, when the call names no user), so each user always gets the same
version while the share holds, and raising the share only moves users onto the new version.
`rollback(alias)` sends everyone back to the pinned version at once; `promote(alias)` pins
the new one. The version that answered is in every attempt (`provider_model`) and audit
record (`version`).

Versions apply to native providers, where the router chooses the model id it calls; a
framework candidate (a LangChain or LlamaIndex model) calls the model it was built with.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from langroute.errors import ConfigError
from langroute.features import RequestFeatures


class Rollout(BaseModel):
    """The versions of one alias: the pinned one, and a new one staged to a share of users."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    """The router's model name (the alias)."""
    pinned: str
    """The provider model id everyone gets outside the staged share."""
    staged: str | None = None
    percent: float = Field(default=0.0, ge=0, le=100)
    """Share of users (0–100) sent to `staged`."""
    provider: str | None = None
    """Only deployments on this provider are versioned (None: every deployment)."""
    salt: str = ""
    """Change it to draw a new set of users for the same share."""

    @model_validator(mode="after")
    def _staged_needs_a_version(self) -> Rollout:
        if self.percent > 0 and self.staged is None:
            raise ValueError(f"percent is {self.percent} but no staged version is given")
        return self

    def bucket(self, who: str) -> float:
        """This user's place in [0, 100): below `percent` means the staged version."""
        digest = hashlib.sha256(f"{self.model}\x00{self.salt}\x00{who}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 * 100

    def version_for(self, who: str) -> str:
        if self.staged is not None and self.bucket(who) < self.percent:
            return self.staged
        return self.pinned


class Versions:
    """The rollouts of a router's models; changes take effect on the next call."""

    def __init__(self, rollouts: Sequence[Rollout] = ()) -> None:
        self._rollouts = {r.model: r for r in rollouts}
        self._lock = threading.Lock()

    def __getitem__(self, model: str) -> Rollout:
        try:
            return self._rollouts[model]
        except KeyError:
            known = ", ".join(sorted(self._rollouts)) or "none"
            raise ConfigError(f"no rollout for model {model!r} (versioned: {known})") from None

    def __contains__(self, model: object) -> bool:
        return model in self._rollouts

    def _set(self, rollout: Rollout) -> Rollout:
        with self._lock:
            self._rollouts = {**self._rollouts, rollout.model: rollout}
        return rollout

    def pin(self, model: str, version: str, *, provider: str | None = None) -> Rollout:
        """Pin `model` to `version` (any staged rollout ends)."""
        return self._set(Rollout(model=model, pinned=version, provider=provider))

    def stage(self, model: str, version: str, percent: float) -> Rollout:
        """Send `percent` % of users to `version` (sticky per user)."""
        current = self[model]
        return self._set(current.model_copy(update={"staged": version, "percent": percent}))

    def rollback(self, model: str) -> Rollout:
        """Everyone back on the pinned version, now."""
        return self._set(self[model].model_copy(update={"staged": None, "percent": 0.0}))

    def promote(self, model: str) -> Rollout:
        """The staged version becomes the pinned one, for everyone."""
        current = self[model]
        if current.staged is None:
            raise ConfigError(f"model {model!r} has no staged version to promote")
        return self._set(Rollout(model=model, pinned=current.staged, provider=current.provider))

    def resolve(
        self, model: str, provider: str, default: str, features: RequestFeatures, request_id: str
    ) -> str:
        """The provider model id to call for this request."""
        rollout = self._rollouts.get(model)
        if rollout is None or (rollout.provider is not None and rollout.provider != provider):
            return default
        who = features.user or features.tenant or request_id
        return rollout.version_for(who)
