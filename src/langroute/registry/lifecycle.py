"""Model shutdowns: a model whose provider has stopped serving it (`ModelSpec.shutdown`) is
left out of every plan from that day on, with the provider's replacement in the reason, and
a router told to use one that is shut down or about to be says so when it is built.

The day is today's UTC date, or `$LANGROUTE_TODAY` (YYYY-MM-DD) to see how a router will
route on a later day, e.g. after a shutdown that is announced but not yet due.
"""

from __future__ import annotations

import datetime as dt
import os

from langroute.errors import ConfigError
from langroute.registry.spec import ModelSpec

TODAY_ENV = "LANGROUTE_TODAY"


def today() -> dt.date:
    """The day shutdowns are judged by: `$LANGROUTE_TODAY` when set, else today in UTC."""
    given = os.environ.get(TODAY_ENV)
    if not given:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(given.strip())
    except ValueError:
        raise ConfigError(
            f"${TODAY_ENV} is {given!r}, not a date: write it as YYYY-MM-DD (2027-01-15), "
            "or unset it to judge model shutdowns by today's date"
        ) from None


def day_is_fixed() -> bool:
    """Whether `$LANGROUTE_TODAY` fixes the day, so that it never changes in this process."""
    return bool(os.environ.get(TODAY_ENV))


def is_shut_down(spec: ModelSpec, day: dt.date) -> bool:
    """Whether `spec`'s provider no longer serves it on `day`."""
    return spec.shutdown is not None and day >= spec.shutdown


def shutdown_reason(spec: ModelSpec) -> str:
    """Why a plan leaves a shut-down model out: when, and what its provider offers instead."""
    instead = f"; its replacement: {spec.replacement}" if spec.replacement else ""
    return f"shut down by its provider on {spec.shutdown}{instead}"


def shutdown_warning(spec: ModelSpec, day: dt.date) -> str | None:
    """What to tell the owner of a router that names `spec`, when it has a shutdown date."""
    if spec.shutdown is None:
        return None
    instead = f" Use {spec.replacement} instead" if spec.replacement else " Replace it"
    where = f" ({spec.shutdown_source})" if spec.shutdown_source else ""
    keep = (
        f", or, if your endpoint still serves it, override its shutdown: "
        f"registry.override({spec.name!r}, {{'shutdown': None}})."
    )
    if day >= spec.shutdown:
        return (
            f"model {spec.name!r} was shut down by its provider on {spec.shutdown}{where}: "
            f"calls to it fail, or reach another model at other prices, so this router leaves "
            f"it out of its plans.{instead}{keep}"
        )
    days = (spec.shutdown - day).days
    return (
        f"model {spec.name!r} will be shut down by its provider on {spec.shutdown}, in {days} "
        f"day{'s' if days != 1 else ''}{where}: from that day this router leaves it out of its "
        f"plans.{instead}{keep}"
    )
