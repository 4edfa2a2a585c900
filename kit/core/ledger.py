"""The data-quality ledger: every input row is either used or excluded for a reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

#: Exclusions caused by the options of a call (not by bad data).
SCOPE_PREFIX = "out of scope: "


@dataclass
class TableAccount:
    table: str
    source: str
    read: int = 0
    used: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    #: data-quality warnings about rows that were kept and counted (rows per warning), with examples
    warnings: dict[str, int] = field(default_factory=dict)
    warning_examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.read == self.used + sum(self.excluded.values())


class Ledger:
    """Counts of rows read, used and excluded by reason, per table.

    Examples
    --------
    >>> led = Ledger()
    >>> account = led.record("contacts", "contacts.csv", read=10, used=8,
    ...                      excluded={"unknown customer": 2}, examples={"unknown customer": ["C9"]})
    >>> led.balanced
    True
    >>> led.frame()[["table", "reason", "rows"]].to_dict("records")[-1]
    {'table': 'contacts', 'reason': 'unknown customer', 'rows': 2}
    >>> led.warn("contacts", "contact_id reused by different customers", 2, examples=["17"])
    >>> led.lines()[-1]
    '  ! warning: contact_id reused by different customers: 2 rows, kept and counted (e.g. 17)'
    """

    def __init__(self) -> None:
        self.tables: dict[str, TableAccount] = {}

    def record(
        self,
        table: str,
        source: str,
        *,
        read: int,
        used: int,
        excluded: Mapping[str, int] | None = None,
        examples: Mapping[str, Sequence[str]] | None = None,
    ) -> TableAccount:
        excluded = excluded or {}
        account = TableAccount(
            table,
            source,
            int(read),
            int(used),
            {k: int(v) for k, v in excluded.items() if v},
            {k: list(v) for k, v in (examples or {}).items() if k in excluded and excluded[k]},
        )
        old = self.tables.get(table)
        if old is not None:  # warnings recorded before the counts stay
            account.warnings, account.warning_examples = old.warnings, old.warning_examples
        self.tables[table] = account
        return account

    def warn(self, table: str, warning: str, rows: int, *, examples: Sequence[str] = ()) -> None:
        """Record a data-quality warning: ``rows`` rows of ``table`` look wrong but were kept and counted.

        Unlike an exclusion it changes no count; it says where the numbers may need a second look.
        Zero rows records nothing.
        """
        if not rows:
            return
        account = self.tables.get(table) or self.tables.setdefault(table, TableAccount(table, table))
        account.warnings[warning] = int(rows)
        if examples:
            account.warning_examples[warning] = [str(e) for e in examples]

    @property
    def balanced(self) -> bool:
        return all(a.balanced for a in self.tables.values())

    def excluded(self, table: str) -> dict[str, int]:
        return dict(self.tables[table].excluded) if table in self.tables else {}

    def frame(self) -> pd.DataFrame:
        """One row per table and outcome: ``read``, ``used``, each exclusion reason (``kind`` quality or
        scope) and each warning about rows that were kept (``kind`` warning)."""
        rows = []
        for a in self.tables.values():
            rows.append(dict(table=a.table, source=a.source, reason="read", kind="read", rows=a.read, examples=""))
            rows.append(dict(table=a.table, source=a.source, reason="used", kind="used", rows=a.used, examples=""))
            for reason, n in sorted(a.excluded.items(), key=lambda kv: (-kv[1], kv[0])):
                kind = "scope" if reason.startswith(SCOPE_PREFIX) else "quality"
                rows.append(
                    dict(
                        table=a.table,
                        source=a.source,
                        reason=reason,
                        kind=kind,
                        rows=n,
                        examples=", ".join(map(str, a.examples.get(reason, []))),
                    )
                )
            for warning, n in a.warnings.items():
                examples = ", ".join(a.warning_examples.get(warning, []))
                rows.append(
                    dict(table=a.table, source=a.source, reason=warning, kind="warning", rows=n, examples=examples)
                )
        return pd.DataFrame(rows, columns=["table", "source", "reason", "kind", "rows", "examples"])

    def lines(self) -> list[str]:
        """Human-readable lines, one per table plus one per exclusion reason and per warning (``!``)."""
        out = []
        for a in self.tables.values():
            status = "balanced" if a.balanced else "NOT BALANCED"
            out.append(
                f"{a.table} ({a.source}): {a.read:,} read, {a.used:,} used, "
                f"{sum(a.excluded.values()):,} excluded [{status}]"
            )
            for reason, n in sorted(a.excluded.items(), key=lambda kv: (-kv[1], kv[0])):
                ex = a.examples.get(reason)
                out.append(f"  - {reason}: {n:,}" + (f" (e.g. {', '.join(map(str, ex))})" if ex else ""))
            for warning, n in a.warnings.items():
                ex = a.warning_examples.get(warning)
                out.append(
                    f"  ! warning: {warning}: {n:,} rows, kept and counted" + (f" (e.g. {', '.join(ex)})" if ex else "")
                )
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return f"Ledger({', '.join(f'{t}: {a.read} read' for t, a in self.tables.items())})"

    def merge(self, other: Ledger) -> Ledger:
        merged = Ledger()
        merged.tables = {**self.tables, **other.tables}
        return merged
