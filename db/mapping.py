"""Imperative mapping of the pure domain classes onto `db.tables` (cosmicpython style)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import column_property, registry, relationship

from db import tables
from domain import model

mapper_registry = registry(metadata=tables.metadata)
_started = False
# The portal's first requests arrive on several threads at once: one maps, the others wait for it.
_mapping = threading.Lock()


def _start_with_no_events(target: Any, _context: Any) -> None:
    # Loaded entities skip __init__, so give them an empty event list to append to.
    target.events = []


def start_mappers() -> None:
    """Map the domain classes once per process (idempotent)."""
    with _mapping:
        _map_once()


def _map_once() -> None:
    global _started
    if _started:
        return
    mapper_registry.map_imperatively(model.Recommendation, tables.recommendations)
    mapper_registry.map_imperatively(model.Contact, tables.contacts)
    mapper_registry.map_imperatively(
        model.Agency,
        tables.agencies,
        properties={
            "contacts": relationship(
                model.Contact, order_by=tables.contacts.c.id, cascade="all, delete-orphan", lazy="selectin"
            )
        },
    )
    mapper_registry.map_imperatively(model.Ownership, tables.ownerships)
    mapper_registry.map_imperatively(model.Milestone, tables.milestones)
    mapper_registry.map_imperatively(model.StockTakeCycle, tables.cycles)
    mapper_registry.map_imperatively(model.StatusRequest, tables.status_requests)
    # An answer's previous state is known whenever it changes (loaded first if it was expired): the
    # cycles' answered totals are kept from these moves (`db.totals`).
    state = column_property(tables.status_updates.c.state, active_history=True)
    mapper_registry.map_imperatively(model.StatusUpdate, tables.status_updates, properties={"state": state})
    for cls in (
        model.Recommendation,
        model.Milestone,
        model.StockTakeCycle,
        model.StatusRequest,
        model.StatusUpdate,
    ):
        event.listen(cls, "load", _start_with_no_events)
    _started = True  # only now: a thread that sees it may use every mapped class
