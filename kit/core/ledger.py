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
        self.tables[table] = account
        return account

    @property
    def balanced(self) -> bool:
        return all(a.balanced for a in self.tables.values())

    def excluded(self, table: str) -> dict[str, int]:
        return dict(self.tables[table].excluded) if table in self.tables else {}

    def frame(self) -> pd.DataFrame:
        """One row per table and outcome: ``read``, ``used`` and each exclusion reason."""
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
        return pd.DataFrame(rows, columns=["table", "source", "reason", "kind", "rows", "examples"])

    def lines(self) -> list[str]:
        """Human-readable lines, one per table plus one per exclusion reason."""
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
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return f"Ledger({', '.join(f'{t}: {a.read} read' for t, a in self.tables.items())})"

    def merge(self, other: Ledger) -> Ledger:
        merged = Ledger()
        merged.tables = {**self.tables, **other.tables}
        return merged
