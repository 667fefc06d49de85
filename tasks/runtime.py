"""Run metadata shared by the Prefect tasks (timestamps and the current flow run id)."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect.runtime import flow_run


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def current_flow_run_id() -> str | None:
    run_id = flow_run.id
    return str(run_id) if run_id else None
