"""Report configuration (``report.yml``): data sources, mapping, time zone, segments, thresholds.

Secrets never live in the file: a connection's password or token is read from the
environment variable the file names (``connection.secret_env``) at the moment of
connecting, so it is never a papermill parameter and never lands in an executed
notebook, an HTML report or ``summary.json``.

Relative paths in the file are read relative to the file's folder.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping
from urllib.parse import quote, urlsplit, urlunsplit

import yaml

from .. import config
from ..errors import ParameterError
from ..core.schema import TABLES
from ..core.sources import find_tables

KNOWN_KEYS = ("title", "data", "mapping", "tz", "segments", "benchmark", "bands", "thresholds", "redact",
              "dedup_window")
#: Defaults for ``thresholds`` (each can be overridden in report.yml).
DEFAULT_THRESHOLDS = MappingProxyType({
    "anomaly_z": 3.0,          # robust z-score that flags a period as an anomaly
    "alert_change": 0.10,      # relative change vs the previous period that an alert reports
    "min_customers": 30,       # smaller segments are listed but not ranked
    "trend_periods": 24,       # periods shown in the trend chart
})
DEFAULT_SEGMENTS = ("tier", "region", "industry")
SECRET_PLACEHOLDER = "{secret}"


@dataclass(frozen=True)
class Connection:
    """An Ibis connection URL without its secret, plus where the secret comes from."""

    url: str
    secret_env: str | None = None
    tables: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # the URL holds no secret, but keep reprs short and safe
        return f"Connection({self.url!r}, secret_env={self.secret_env!r})"

    def connect(self):
        """Open the Ibis connection, reading the secret from the environment now."""
        import ibis

        url = self.url
        if self.secret_env:
            secret = os.environ.get(self.secret_env)
            if not secret:
                raise ParameterError(
                    f"report.yml names environment variable {self.secret_env} for the connection secret, "
                    f"but it is not set; export {self.secret_env}=... before rendering"
                )
            url = _insert_secret(url, secret)
        options = dict(self.options)
        if url.startswith("duckdb://") and urlsplit(url).path not in ("", "/", "/:memory:"):
            # several processes (the report and each notebook kernel) read the same file
            options.setdefault("read_only", True)
        try:
            return ibis.connect(url, **options)
        except Exception as exc:  # noqa: BLE001 - never echo the URL: it now holds the secret
            raise ParameterError(
                f"cannot connect to {self.url.split('://')[0]} backend ({type(exc).__name__}); "
                "check connection.url and the secret's environment variable in report.yml"
            ) from None


def _insert_secret(url: str, secret: str) -> str:
    if SECRET_PLACEHOLDER in url:
        return url.replace(SECRET_PLACEHOLDER, quote(secret, safe=""))
    parts = urlsplit(url)
    if not parts.username:
        raise ParameterError("connection.url needs a user (user@host) or a {secret} placeholder to take the secret")
    host = parts.hostname or ""
    netloc = f"{parts.username}:{quote(secret, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class ReportConfig:
    """Everything a report needs besides the period. Holds no secret.

    Build it with :func:`load`; ``parameters()`` gives the papermill-safe values.
    """

    path: Path | None = None
    title: str = "Customer Contact Frequency"
    data_dir: Path | None = None
    tables: Mapping[str, str] = field(default_factory=dict)
    connection: Connection | None = None
    mapping: Any = None
    tz: str = config.DEFAULT_TZ
    dedup_window: str = config.DEFAULT_DEDUP_WINDOW
    segments: tuple[str, ...] = DEFAULT_SEGMENTS
    benchmark_profile: Mapping[str, Any] | None = None
    bands: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    redact: bool = False

    def sources(self, *, data_dir=None) -> dict[str, Any]:
        """The table sources for :func:`kit.core.sources.open_tables` (absent optional tables omitted).

        ``data_dir`` (a notebook parameter) wins over the file's own sources.
        """
        if data_dir:
            return _folder_sources(Path(data_dir))
        if self.connection is not None:
            con = self.connection.connect()
            out = {}
            for t in TABLES:
                name = self.connection.tables.get(t, t)
                try:  # probing each table works on every backend (list_tables differs between versions)
                    con.table(name)
                except Exception:  # noqa: BLE001 - backend-specific "no such table" errors
                    if t in ("contacts", "customers") or t in self.connection.tables:
                        raise ParameterError(f"the {con.name} connection has no table {name!r} for {t}; "
                                             f"set data.connection.tables.{t} in report.yml") from None
                    continue
                out[t] = (con, name)
            return out
        if self.tables:
            out = dict(_folder_sources(self.data_dir, required=False)) if self.data_dir else {}
            out.update(self.tables)
            return out
        return _folder_sources(self.data_dir or config.SAMPLE_DIR)

    def parameters(self) -> dict[str, Any]:
        """Notebook parameters derived from the config: plain values only, never a secret."""
        return {
            "config_path": str(self.path) if self.path else "",
            # a folder for notebooks that read <data_dir>/<table>.parquet; "" when the data is elsewhere
            "data_dir": (str(self.data_dir or config.SAMPLE_DIR) if not self.tables and self.connection is None else ""),
            "tz": self.tz,
            "segments": list(self.segments),
            "benchmark_profile": plain(self.benchmark_profile) if self.benchmark_profile else None,
            "bands": plain(self.bands),
            "thresholds": plain(self.thresholds),
            "redact": bool(self.redact),
        }


def plain(value):
    """Nested mappings and sequences as plain dicts and lists (JSON- and papermill-safe)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _folder_sources(folder: Path, *, required: bool = True) -> dict[str, str]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(f"data folder {folder} does not exist; run `make sample` or set data.dir in report.yml")
    out = {table: str(path) for table, path in find_tables(folder).items()}
    if required:
        missing = [t for t in ("contacts", "customers") if t not in out]
        if missing:
            raise ParameterError(f"data folder {folder} has no {' or '.join(missing)} table "
                                 f"(expected e.g. {missing[0]}.parquet or {missing[0]}.csv)")
    return out


_PASSWORD_IN_URL = re.compile(r"^[a-z0-9+.-]+://[^/@:]+:[^/@]+@", re.IGNORECASE)


def load(path=None, **overrides) -> ReportConfig:
    """Read ``report.yml`` (or the defaults, pointing at the sample data, when ``path`` is None).

    Parameters
    ----------
    path : str or Path, optional
        The YAML file. Relative paths inside it are read relative to its folder.
    **overrides
        Field values that win over the file (``tz=``, ``segments=``, ``data_dir=``...).

    Examples
    --------
    >>> cfg = load(None, tz="Europe/Berlin")
    >>> cfg.tz, cfg.connection is None
    ('Europe/Berlin', True)
    """
    raw: dict = {}
    base = Path.cwd()
    if path:
        path = Path(path).expanduser().resolve()
        if not path.is_file():
            raise ParameterError(f"report config {path} not found; copy report.yml from the repository root")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ParameterError(f"report config {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(raw, Mapping):
            raise ParameterError(f"report config {path} must be a mapping of settings")
        unknown = sorted(set(raw) - set(KNOWN_KEYS))
        if unknown:
            raise ParameterError(f"report config {path}: unknown setting(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(KNOWN_KEYS)}")
        base = path.parent
    fields: dict[str, Any] = {"path": path or None}
    data = raw.get("data") or {}
    if not isinstance(data, Mapping):
        raise ParameterError("report config: `data` must be a mapping with dir, tables or connection")
    if data.get("dir"):
        fields["data_dir"] = _resolve(data["dir"], base)
    if data.get("tables"):
        fields["tables"] = {str(t): str(_resolve(p, base)) if not _is_url(str(p)) else str(p)
                            for t, p in dict(data["tables"]).items()}
        bad = sorted(set(fields["tables"]) - set(TABLES))
        if bad:
            raise ParameterError(f"report config: unknown table(s) {', '.join(bad)} in data.tables; "
                                 f"tables are {', '.join(TABLES)}")
    if data.get("connection"):
        fields["connection"] = _connection(data["connection"])
    for key in ("title", "tz", "dedup_window"):
        if raw.get(key) is not None:
            fields[key] = str(raw[key])
    if raw.get("mapping") is not None:
        m = raw["mapping"]
        fields["mapping"] = str(_resolve(m, base)) if isinstance(m, str) and (base / m).exists() else m
    if raw.get("segments") is not None:
        seg = raw["segments"]
        fields["segments"] = tuple([seg] if isinstance(seg, str) else [str(s) for s in seg])
    bench = raw.get("benchmark")
    if bench is not None:
        profile = bench.get("profile") if isinstance(bench, Mapping) and "profile" in bench else bench
        if profile is not None and not isinstance(profile, Mapping):
            raise ParameterError("report config: benchmark.profile must be a mapping such as {industry: SaaS (B2B)}")
        fields["benchmark_profile"] = dict(profile) if profile else None
    if raw.get("bands") is not None:
        fields["bands"] = dict(raw["bands"])
    thresholds = dict(DEFAULT_THRESHOLDS)
    thresholds.update(dict(raw.get("thresholds") or {}))
    fields["thresholds"] = thresholds
    if raw.get("redact") is not None:
        fields["redact"] = bool(raw["redact"])
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "data_dir":
            value = Path(value)
        elif key == "segments":
            value = tuple([value] if isinstance(value, str) else value)
        fields[key] = value
    from ..core.engine import check_tz

    check_tz(fields.get("tz", config.DEFAULT_TZ))
    return ReportConfig(**fields)


def _is_url(text: str) -> bool:
    return "://" in text


def _resolve(value, base: Path) -> Path:
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _connection(spec) -> Connection:
    if isinstance(spec, str):
        spec = {"url": spec}
    if not isinstance(spec, Mapping) or not spec.get("url"):
        raise ParameterError("report config: data.connection needs a url (e.g. postgres://user@host/db)")
    url = str(spec["url"])
    if _PASSWORD_IN_URL.match(url):
        raise ParameterError("report config: data.connection.url contains a password; remove it and name an "
                             "environment variable in data.connection.secret_env instead")
    secret_env = spec.get("secret_env") or spec.get("password_env") or spec.get("token_env")
    if SECRET_PLACEHOLDER in url and not secret_env:
        raise ParameterError("report config: data.connection.url has a {secret} placeholder but no secret_env")
    return Connection(url=url, secret_env=str(secret_env) if secret_env else None,
                      tables={str(k): str(v) for k, v in dict(spec.get("tables") or {}).items()},
                      options=dict(spec.get("options") or {}))


def sources(config_path=None, *, data_dir=None) -> dict[str, Any]:
    """Shortcut for notebooks: ``load(config_path).sources(data_dir=data_dir)``.

    Examples
    --------
    >>> src = sources(None, data_dir=config.SAMPLE_DIR)  # doctest: +SKIP
    >>> sorted(src)[:2]  # doctest: +SKIP
    ['contacts', 'customers']
    """
    return load(config_path or None).sources(data_dir=data_dir or None)
