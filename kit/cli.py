"""Command line: ``python -m kit {frequency,sample,report,inspect,init} ...``.

Bad input ends with a one-line message on stderr and a non-zero exit, never a traceback
(set ``KIT_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import warnings
from pathlib import Path

from . import config
from .errors import KitError, KitWarning, ParameterError


def _add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--contacts", required=True, help="contacts source: CSV/Parquet file, folder, glob or file.duckdb[::table]"
    )
    p.add_argument(
        "--customers",
        help="customers source (same kinds); omitted: customers are derived from the contacts (see --active-lookback)",
    )
    p.add_argument(
        "--mapping",
        help="column mapping YAML file or preset name (zendesk, freshdesk, intercom, hubspot, salesforce, servicenow)",
    )
    p.add_argument("--tz", default=config.DEFAULT_TZ, help="business time zone (default UTC)")
    p.add_argument(
        "--timestamp-format",
        metavar="FORMAT",
        help="format of text timestamps in strftime syntax, e.g. '%%d/%%m/%%Y %%H:%%M' (or iso, epoch_s, epoch_ms, "
        "excel); default: detected per column from the data",
    )


def _no_sql(func):
    """``func`` returning ``(result, [])``, the shape of :func:`kit.core.backends.explain`."""
    return lambda *args, **kwargs: (func(*args, **kwargs), [])


def _frequency(args) -> int:
    from .core import backends
    from .metrics.frequency import contact_frequency

    by = [b for b in (args.by or "").split(",") if b.strip()] or None
    if args.output and args.output != "-" and Path(args.output).is_dir():  # say so before the work, not after
        raise ParameterError(
            f"--output {args.output} is a folder; give a file name, e.g. {Path(args.output) / 'frequency.csv'}"
        )
    contacts, customers = args.contacts, args.customers
    if args.backend:  # run where the data lives; --contacts/--customers name its tables
        con = backends.connect(args.backend, secret_env=args.secret_env)
        contacts = backends.table(con, contacts)
        customers = backends.table(con, customers) if customers else None
    from .core.prepare import single_use

    with warnings.catch_warnings(record=True) as caught, single_use():  # one call: no copies to reuse
        # KitWarnings repeat a note, which is printed below as one `note:` line (not a warning with a source path).
        warnings.simplefilter("always", KitWarning)
        # Capturing the SQL compiles every query a second time (0.4 s at 10M contacts): only for --explain.
        run = functools.partial(backends.explain, contact_frequency) if args.explain else _no_sql(contact_frequency)
        result, sql = run(
            contacts,
            customers,
            freq=args.freq,
            by=by,
            tz=args.tz,
            dedup_window=args.dedup_window,
            active_lookback=args.active_lookback,
            new_window=args.new_window,
            tenure_bands=args.tenure_bands,
            same_topic=args.same_topic,
            direction=args.direction,
            weight=args.weight,
            start=args.start,
            end=args.end,
            mapping=args.mapping,
            timestamp_format=args.timestamp_format,
        )
    if args.explain:
        print(backends.format_sql(sql), file=sys.stderr)
    for line in result.ledger.lines() + [f"note: {n}" for n in result.notes]:
        print(line, file=sys.stderr)
    # A warning that is not already a note: one line each, still.
    for message in dict.fromkeys(str(w.message) for w in caught if str(w.message) not in result.notes):
        print(f"warning: {message}", file=sys.stderr)
    if result.frame.empty or not result.frame["contacts"].sum():
        print(f"note: {nothing_counted(result.ledger)}", file=sys.stderr)
    out = result.frame.copy()
    if args.output and Path(args.output).suffix.lower() == ".parquet":  # full precision, typed columns
        import io

        from .core.io import atomic_write_bytes

        buf = io.BytesIO()
        out.to_parquet(buf, index=False)
        atomic_write_bytes(Path(args.output), buf.getvalue())
        print(f"wrote {len(out)} rows to {args.output}", file=sys.stderr)
        return 0
    import pandas as pd

    out["period"] = pd.to_datetime(out["period"]).dt.strftime("%Y-%m-%d")  # an empty result has no dtype
    if not args.full_precision:
        out = round_rates(out, args.precision)
    if args.output and args.output != "-":
        from .core.io import atomic_write_text

        atomic_write_text(Path(args.output), out.to_csv(index=False))
        print(f"wrote {len(out)} rows to {args.output}", file=sys.stderr)
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


def nothing_counted(ledger) -> str:
    """Why a result counted no contact, in one sentence, from its ledger (an empty result is an answer).

    >>> from kit.core.ledger import Ledger
    >>> led = Ledger()
    >>> _ = led.record("contacts", "c.csv", read=3, used=0, excluded={"unparseable created_at": 3})
    >>> nothing_counted(led)  # doctest: +ELLIPSIS
    "nothing was counted: all 3 contacts were excluded (unparseable created_at: 3); give the times' format with ..."
    """
    contacts, customers = ledger.tables.get("contacts"), ledger.tables.get("customers")
    if contacts is None or contacts.read == 0:
        return f"nothing was counted: the contacts table ({contacts.source if contacts else '?'}) has no rows"
    if contacts.used:
        return f"nothing was counted in the requested periods: the {contacts.used:,} usable contacts lie outside them"
    top = sorted(contacts.excluded.items(), key=lambda kv: -kv[1])
    why = ", ".join(f"{reason}: {n:,}" for reason, n in top[:3])
    text = f"nothing was counted: all {contacts.read:,} contacts were excluded ({why})"
    first = top[0][0] if top else ""
    if customers is not None and customers.read == 0:
        text += f"; the customers table ({customers.source}) has no rows"
    elif customers is not None and customers.used == 0:
        text += "; no customer row is usable (see the customers' exclusions above)"
    elif first == "unknown customer":
        text += "; check that the customer ids match between the two tables"
    elif first == "unparseable created_at":
        text += "; give the times' format with --timestamp-format (e.g. '%d/%m/%Y %H:%M')"
    elif first.startswith("out of scope: outside"):
        text += "; check --start and --end against the data's dates"
    elif first.startswith("out of scope: direction"):
        text += "; try --direction all"
    return text


#: the ratio columns of ``frequency``; counts are integers and never rounded
RATE_COLUMNS = (
    "frequency",
    "case_frequency",
    "contacts_per_contacting_customer",
    "repeat_contact_rate",
    "frequency_ci_low",
    "frequency_ci_high",
    "weighted_frequency",
)


def round_rates(frame, digits: int = 4):
    """``frame`` with its rate columns rounded to ``digits`` significant digits (NaN stays NaN), for display.

    >>> import pandas as pd
    >>> round_rates(pd.DataFrame({"contacts": [4], "frequency": [4 / 3], "frequency_ci_high": [3.4138628918]}))
       contacts  frequency  frequency_ci_high
    0         4      1.333              3.414
    """
    out = frame.copy()
    for col in RATE_COLUMNS:
        if col in out.columns:
            out[col] = [float(f"{v:.{digits}g}") if v == v else v for v in out[col].astype(float)]
    return out


def _precision(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 17:
        raise argparse.ArgumentTypeError(f"--precision takes a number of significant digits from 1 to 17, not {text!r}")
    return n


def _sample(args) -> int:
    from .sample import generate

    sample = generate(
        customers=args.customers,
        months=args.months,
        seed=args.seed,
        end=args.end,
        seasonality=not args.no_seasonality,
        effects=not args.no_effects,
    )
    path = sample.write(args.out, fmt=args.format)
    sizes = ", ".join(f"{name}: {len(df):,}" for name, df in sample.tables().items())
    print(f"wrote sample to {path} ({sizes})", file=sys.stderr)
    return 0


def _inspect(args) -> int:
    import json

    from .core.profile import profile

    found = []
    for path in args.paths:
        p = profile(
            path,
            args.customers,
            preset=args.preset,
            mapping=args.mapping,
            tz=args.tz,
            timestamp_format=args.timestamp_format,
        )
        found.append(p)
        if not args.json:
            print(p.describe() + ("\n" if len(args.paths) > 1 else ""))
    if args.json:
        data = [p.to_dict() for p in found]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))
    return 0


def _init(args) -> int:
    from .report.setup import write_config

    done = write_config(
        args.contacts,
        args.customers,
        preset=args.preset,
        mapping=args.mapping,
        out=args.out,
        force=args.force,
        tz=args.tz,
        timestamp_format=args.timestamp_format,
    )
    print(done.describe(), file=sys.stderr)
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage mistakes end in one line, like every other error of the kit."""

    def error(self, message):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m kit", description="Contact Frequency Kit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    f = sub.add_parser("frequency", help="contacts per active customer per period, as CSV")
    _add_source_args(f)
    f.add_argument("--freq", default=config.DEFAULT_FREQ, choices=["day", "week", "month", "quarter", "year"])
    f.add_argument(
        "--by",
        help="comma-separated segment columns and/or channel, topic; or new_vs_existing or tenure (per period, "
        "from signup)",
    )
    f.add_argument(
        "--new-window",
        default=config.DEFAULT_NEW_WINDOW,
        help=f"with --by new_vs_existing: a customer is new in a period when they signed up less than this before "
        f"its start (default {config.DEFAULT_NEW_WINDOW})",
    )
    f.add_argument(
        "--tenure-bands",
        type=lambda text: [e for e in text.replace(" ", "").split(",") if e],
        help="with --by tenure: band edges in months, e.g. 3,12,24 (the default)",
    )
    f.add_argument("--dedup-window", default=config.DEFAULT_DEDUP_WINDOW, help="follow-up window, e.g. 48h, 24h, 0")
    f.add_argument("--same-topic", action="store_true", help="a follow-up must share the previous contact's topic")
    f.add_argument(
        "--active-lookback",
        help="without --customers: a customer is active in a period with a counted contact from this long "
        f"before its start to its end (default {config.DEFAULT_ACTIVE_LOOKBACK})",
    )
    f.add_argument("--direction", default="inbound", choices=["inbound", "outbound", "all"])
    f.add_argument("--weight", help="numeric contacts column for weighted_frequency, e.g. handle_time")
    f.add_argument("--start", help="first period (date inside it)")
    f.add_argument("--end", help="last period (date inside it)")
    f.add_argument("--output", "-o", help="CSV file to write (default: stdout); a .parquet file keeps full precision")
    digits = f.add_mutually_exclusive_group()
    digits.add_argument(
        "--precision",
        type=_precision,
        default=4,
        metavar="N",
        help="significant digits of the rate columns in CSV output (default 4)",
    )
    digits.add_argument("--full-precision", action="store_true", help="CSV rate columns unrounded")
    f.add_argument(
        "--backend",
        help="Ibis connection URL (postgres://user@host/db, spark://local[2], duckdb:///file.ddb); "
        "--contacts/--customers are then table names",
    )
    f.add_argument("--secret-env", help="environment variable holding the backend's password or token")
    f.add_argument("--explain", action="store_true", help="print the SQL the kit pushes down to the engine (stderr)")
    f.set_defaults(func=_frequency)

    s = sub.add_parser("sample", help="write the synthetic sample tables with planted ground truth")
    s.add_argument("--out", default=str(config.SAMPLE_DIR))
    s.add_argument("--customers", type=int, default=20_000)
    s.add_argument("--months", type=int, default=36)
    s.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    s.add_argument("--end", default=config.SAMPLE_END, help="last day of the sample")
    s.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    s.add_argument("--no-seasonality", action="store_true")
    s.add_argument("--no-effects", action="store_true", help="no planted churn/CSAT effects (null model)")
    s.set_defaults(func=_sample)

    i = sub.add_parser("inspect", help="profile an export: columns, preset, timestamp formats, coverage, exclusions")
    i.add_argument("paths", nargs="+", metavar="PATH", help="contacts export(s): CSV/Parquet file, folder or glob")
    i.add_argument("--customers", help="customers table; omitted: customers are derived from the contacts")
    i.add_argument("--preset", help="use this preset instead of guessing one")
    i.add_argument("--mapping", help="column mapping YAML file (instead of a preset)")
    i.add_argument("--tz", default=config.DEFAULT_TZ, help="business time zone (default UTC)")
    i.add_argument("--timestamp-format", help="strftime pattern of the times, when detection cannot decide")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    i.set_defaults(func=_inspect)

    n = sub.add_parser("init", help="write a report.yml for your own export (then: kit report --config report.yml)")
    n.add_argument("--contacts", required=True, help="contacts export: CSV/Parquet file, folder or glob")
    n.add_argument("--customers", help="customers table; omitted: customers are derived from the contacts")
    n.add_argument("--preset", help="column mapping preset (default: the one the export's columns match)")
    n.add_argument("--mapping", help="column mapping YAML file (instead of a preset)")
    n.add_argument("--tz", default=config.DEFAULT_TZ, help="business time zone (default UTC)")
    n.add_argument("--out", default="report.yml", help="file to write (default report.yml)")
    n.add_argument("--timestamp-format", help="strftime pattern of the times, when detection cannot decide")
    n.add_argument("--force", action="store_true", help="overwrite an existing file")
    n.set_defaults(func=_init)

    from .report import command  # a light module: the report pipeline is imported when the command runs

    command.add_cli(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line unless debugging
        if os.environ.get("KIT_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"error: {type(exc).__name__}: {first} (set KIT_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
