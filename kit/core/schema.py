"""Canonical tables: required and optional columns, and column-mapping presets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import ParameterError

if TYPE_CHECKING:
    from .types import MappingSpec


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "contacts",
            ("contact_id", "customer_id", "created_at", "channel"),
            ("direction", "topic", "handle_time", "person_id"),
        ),
        TableSpec("customers", ("customer_id", "signup_date"), ("churn_date",)),
        TableSpec("surveys", ("customer_id", "responded_at", "score"), ("contact_id",)),
        TableSpec("orders", ("order_id", "customer_id", "ordered_at")),
        TableSpec(
            "stakeholders",
            ("customer_id", "person_id", "role", "cadence_days"),
            ("start_date", "end_date", "name"),
        ),
        TableSpec("events", ("date", "label"), ("kind",)),
    )
}

#: Columns of `contacts` that describe a contact rather than a customer.
CONTACT_ATTRIBUTES = ("channel", "topic", "direction")

PRESETS_DIR = Path(__file__).resolve().parents[1] / "presets"


def presets() -> list[str]:
    """Names of the shipped column-mapping presets (help-desk exports)."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yml"))


def _read_mapping(mapping: MappingSpec) -> Mapping | None:
    """The mapping as a dict: presets and YAML files read, anything else returned as given."""
    if mapping is None:
        return None
    if isinstance(mapping, (str, Path)):
        text = str(mapping)
        if text in presets():
            return yaml.safe_load((PRESETS_DIR / f"{text}.yml").read_text()) or {}
        path = Path(text)
        if not path.exists():
            raise ParameterError(f"mapping {text!r} is neither a file nor a preset; presets: {', '.join(presets())}")
        try:
            return yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ParameterError(f"mapping file {path} is not valid YAML: {exc}".splitlines()[0]) from None
    return mapping


def mapping_timestamp_format(mapping: MappingSpec) -> Any:
    """The ``timestamp_format`` a mapping gives (its preset's, overridden by its own), or None.

    One strftime pattern for every date column, ``{table: pattern}`` or ``{table: {column: pattern}}``
    (see :func:`kit.core.timeformats.override_for`).

    Examples
    --------
    >>> mapping_timestamp_format({"timestamp_format": {"contacts": {"created_at": "%d/%m/%Y %H:%M"}}})
    {'contacts': {'created_at': '%d/%m/%Y %H:%M'}}
    >>> mapping_timestamp_format({"Ticket ID": "contact_id"}) is None
    True
    """
    from .timeformats import merge_specs

    raw = _read_mapping(mapping)
    if not isinstance(raw, Mapping):
        return None
    base = mapping_timestamp_format(str(raw["preset"])) if "preset" in raw else None
    own = raw.get("timestamp_format")
    if own is not None and not isinstance(own, (str, Mapping)):
        raise ParameterError(
            f"mapping: timestamp_format must be a strftime pattern or {{table: {{column: pattern}}}}, got {own!r}"
        )
    return merge_specs(base, own)


def load_mapping(mapping: MappingSpec) -> dict[str, dict[str, str]]:
    """Normalise a column mapping to ``{table: {source_column: canonical_column}}``.

    ``mapping`` may be a dict (flat, applying to every table, or keyed by table
    name), a path to a YAML file of the same shape, or the name of a preset
    (see :func:`presets`). A YAML file may also say ``preset: zendesk`` and
    add or override columns. Its ``timestamp_format`` key is read by
    :func:`mapping_timestamp_format`.

    Examples
    --------
    >>> load_mapping({"Ticket ID": "contact_id"})["contacts"]
    {'Ticket ID': 'contact_id'}
    >>> load_mapping("zendesk")["contacts"]["Requester id"]
    'customer_id'
    """
    if mapping is None:
        return {}
    mapping = _read_mapping(mapping)
    if not isinstance(mapping, Mapping):
        raise ParameterError("a column mapping must be a dict of source column -> canonical column")
    mapping = dict(mapping)
    mapping.pop("timestamp_format", None)  # read by mapping_timestamp_format
    base: dict[str, dict[str, str]] = {}
    if "preset" in mapping:
        base = load_mapping(str(mapping.pop("preset")))
    per_table = {k: v for k, v in mapping.items() if k in TABLES and isinstance(v, Mapping)}
    flat = {k: v for k, v in mapping.items() if k not in per_table}
    for key, value in flat.items():
        if not isinstance(value, str):
            raise ParameterError(f"column mapping entry {key!r} must map to a column name, got {value!r}")
    out = {}
    for name in TABLES:
        own = {**flat, **{str(k): str(v) for k, v in per_table.get(name, {}).items()}}
        # An override names the source of a canonical column: the preset's entries for that column give way,
        # so a file holding both columns is not renamed twice (HubSpot's company and contact ids).
        kept = {k: v for k, v in base.get(name, {}).items() if v not in own.values() or k in own}
        out[name] = {**kept, **own}
    return {name: cols for name, cols in out.items() if cols}
