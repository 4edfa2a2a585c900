"""Stable pseudonyms for reports that name accounts and people.

A pseudonym is a keyed hash (HMAC-SHA256) of the original identifier, so the
same account gets the same pseudonym in every report made with the same key,
and nobody without the key can rebuild the mapping by hashing guessed ids.

The key comes from the environment variable ``KIT_REDACT_SALT``. The default
key (:data:`DEFAULT_SALT`) keeps pseudonyms stable out of the box but is
public, so set your own secret for anything shared outside the team.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

import pandas as pd

from ..errors import ParameterError

#: Public default key; set KIT_REDACT_SALT to a secret of your own for real sharing.
DEFAULT_SALT = "contact-frequency-kit"
SALT_ENV = "KIT_REDACT_SALT"
#: Hex digits in a pseudonym. 6 digits give 16.7M names: collisions are rare for
#: portfolios of thousands of accounts, and redact_frame() lengthens them if one occurs.
DEFAULT_DIGITS = 6
#: Columns that name an account (redacted to "Account-...") or a person ("Person-...").
ACCOUNT_COLUMNS = ("customer_id", "account", "account_id", "name", "account_name", "customer_name")
PERSON_COLUMNS = ("person_id", "person_name", "stakeholder", "stakeholder_name")


def _salt(salt: str | None) -> bytes:
    return (salt if salt is not None else os.environ.get(SALT_ENV, DEFAULT_SALT)).encode()


def pseudonym(
    value: object, *, prefix: str = "Account", salt: str | None = None, digits: int = DEFAULT_DIGITS
) -> str | float | None:
    """A stable pseudonym such as ``"Account-7F3A9C"`` for ``value``; a missing value (None, NaN) is returned as is.

    Parameters
    ----------
    value
        The identifier to hide (converted to text, so ``42`` and ``"42"`` agree).
    prefix : str
        Word in front of the hash: ``"Account"``, ``"Person"``...
    salt : str, optional
        The key. Default: ``$KIT_REDACT_SALT``, else :data:`DEFAULT_SALT`.
    digits : int
        Hex digits kept from the hash (4-64).

    Examples
    --------
    >>> pseudonym("C000123", salt="k") == pseudonym("C000123", salt="k")
    True
    >>> pseudonym("C000123", salt="k").startswith("Account-")
    True
    >>> pseudonym("C000123", salt="k") != pseudonym("C000123", salt="other")
    True
    """
    if not 4 <= int(digits) <= 64:
        raise ParameterError(f"digits must be between 4 and 64, not {digits!r}")
    if value is None or (isinstance(value, float) and value != value):
        return value
    digest = hmac.new(_salt(salt), str(value).encode(), hashlib.sha256).hexdigest()
    return f"{prefix}-{digest[: int(digits)].upper()}"


def _mapping(values, prefix: str, salt, digits: int) -> dict:
    uniq = pd.unique(pd.Series(list(values), dtype=object).dropna())
    for d in range(int(digits), 65):
        out = {v: pseudonym(v, prefix=prefix, salt=salt, digits=d) for v in uniq}
        if len(set(out.values())) == len(out):
            return out
    raise AssertionError("unreachable: SHA-256 prefixes cannot all collide")  # pragma: no cover


def redact_frame(
    df: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    name_cols: Sequence[str] | None = None,
    person_id_col: str = "person_id",
    person_name_cols: Sequence[str] | None = None,
    salt: str | None = None,
    digits: int = DEFAULT_DIGITS,
) -> pd.DataFrame:
    """A copy of ``df`` with account and person names and ids replaced by pseudonyms.

    Account names are replaced by the pseudonym of the account's *id* (when the
    id column is present), so one account reads the same in every column and
    every table. The index and column labels are redacted too when they hold ids
    (e.g. an accounts x months heatmap table).

    Parameters
    ----------
    df : pandas.DataFrame
        Not modified.
    id_col : str
        Account id column.
    name_cols : list of str, optional
        Account name columns. Default: any of ``name``, ``account_name``, ``customer_name``.
    person_id_col : str
        Person id column.
    person_name_cols : list of str, optional
        Person name columns. Default: any of ``person_name``, ``stakeholder``, ``stakeholder_name``.
    salt, digits
        See :func:`pseudonym`. If two values collide, more digits are used for that frame.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Acme", "Blue Ltd"], "n": [3, 4]})
    >>> out = redact_frame(df, salt="k")
    >>> bool((out["name"] == out["customer_id"]).all()), out["n"].tolist()
    (True, [3, 4])
    >>> "Acme" in out.to_string()
    False
    """
    out = df.copy()
    name_cols = (
        [c for c in ("name", "account_name", "customer_name") if c in out.columns]
        if name_cols is None
        else [c for c in name_cols if c in out.columns]
    )
    person_name_cols = (
        [c for c in ("person_name", "stakeholder", "stakeholder_name") if c in out.columns]
        if person_name_cols is None
        else [c for c in person_name_cols if c in out.columns]
    )

    # An index is redacted only when it is named as the id column (a pivot by account).
    idx_vals = list(out.index) if out.index.name == id_col else []
    if id_col in out.columns or idx_vals:
        ids = list(out[id_col]) if id_col in out.columns else []
        acc = _mapping(ids + idx_vals, "Account", salt, digits)
        if id_col in out.columns:
            for col in name_cols:  # names follow their id so that they agree
                out[col] = out[id_col].map(acc)
            out[id_col] = out[id_col].map(acc)
        if idx_vals:
            out.index = pd.Index([acc.get(v, v) for v in out.index], name=out.index.name)
    if name_cols and id_col not in df.columns:
        for col in name_cols:
            m = _mapping(out[col], "Account", salt, digits)
            out[col] = out[col].map(m)
    if person_id_col in out.columns:
        per = _mapping(out[person_id_col], "Person", salt, digits)
        for col in person_name_cols:
            out[col] = out[person_id_col].map(per)
        out[person_id_col] = out[person_id_col].map(per)
    elif person_name_cols:
        for col in person_name_cols:
            out[col] = out[col].map(_mapping(out[col], "Person", salt, digits))
    return out
