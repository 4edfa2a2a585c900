"""Exception hierarchy: every error the kit raises on purpose is a ``KitError``.

Messages are one line, name the table/file/column involved, and say what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

_F = TypeVar("_F", bound=Callable[..., Any])


class KitError(Exception):
    """Base class for all errors raised deliberately by the kit."""


class SourceError(KitError):
    """A table could not be read (missing file, unsupported kind, unreadable format)."""


class SchemaError(KitError):
    """A table lacks a required column or a column has an unusable type."""


class MissingColumnError(SchemaError):
    """A required column is absent after applying the column mapping."""

    def __init__(self, table: str, source: str, missing: list[str], present: list[str]) -> None:
        self.table, self.source, self.missing, self.present = table, source, missing, present
        shown = ", ".join(present[:20]) + (", ..." if len(present) > 20 else "")
        super().__init__(
            f"{table} table ({source}) is missing required column(s) {', '.join(missing)}; "
            f"columns present: {shown}. Rename them in the source or pass a column mapping "
            f"(--mapping FILE or mapping={{'your_name': '{missing[0]}'}})."
        )


class AmbiguousTimestampError(SchemaError):
    """A date column reads both as day-first and as month-first (no day above 12); the format must be given.

    ``day_first`` and ``month_first`` hold both candidate formats (``kit.core.timeformats.TimestampFormat``).
    """

    def __init__(self, where: str, column: str, examples: list[str], *, day_first: Any, month_first: Any) -> None:
        self.where, self.column, self.examples = where, column, examples
        self.day_first, self.month_first = day_first, month_first
        shown = ", ".join(repr(e) for e in examples[:3])
        pattern = getattr(day_first, "strftime", "%d/%m/%Y")
        super().__init__(
            f"{where}: column {column or '?'} reads both as day-first and as month-first dates (e.g. {shown}; "
            f"no day above 12); pass --timestamp-format '{pattern}' (timestamp_format='{pattern}' in Python, "
            f"or timestamp_format in the mapping YAML), or the month-first pattern, to say which"
        )


class ParameterError(KitError):
    """An option has an impossible value (unknown grain, bad window, unknown column...)."""


class DataError(KitError):
    """The data cannot support the requested computation (e.g. no usable rows)."""


class AnalysisError(KitError):
    """A statistical analysis cannot be carried out on this data (too few rows, separation...)."""


class ReportError(KitError):
    """Rendering a report failed; the message names the notebook and the cell."""


class MissingDependencyError(KitError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class KitWarning(UserWarning):
    """Base class of every warning the kit issues on purpose."""


class KitDeprecationWarning(KitWarning, FutureWarning):
    """A parameter or name still works but will be removed; the message says what to use instead."""


class SeasonalityWarning(KitWarning):
    """The series is too short or too sparse for a reliable seasonal decomposition."""


class PartialPeriodWarning(KitWarning):
    """Partial first or last periods (the data covers only part of them) were left out of an analysis."""


def renamed_parameters(**old_to_new: str) -> Callable[[_F], _F]:
    """Decorator: accept deprecated keyword names, warn once per call and pass them on under the new name.

    Examples
    --------
    >>> import warnings
    >>> @renamed_parameters(grain="freq")
    ... def f(*, freq="month"):
    ...     return freq
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     f(grain="week"), caught[0].category.__name__
    ('week', 'KitDeprecationWarning')
    """
    import functools
    import warnings

    def wrap(func: _F) -> _F:
        @functools.wraps(func)
        def inner(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ParameterError(f"{func.__name__}() got both {old}= and {new}=; use {new}= only")
                    warnings.warn(
                        f"{func.__name__}({old}=...) is deprecated; use {new}=", KitDeprecationWarning, stacklevel=2
                    )
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return cast(_F, inner)  # the same call signature, plus the old names

    return wrap
