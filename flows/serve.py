"""Serves the retrain flow as a Prefect deployment on the cron schedule of `schedule` in
params.yaml (not a pipeline stage). Needs a Prefect server: `make serve` starts one
(`prefect server start`, SQLite under PREFECT_HOME by default; set
PREFECT_API_DATABASE_CONNECTION_URL to a `postgresql+asyncpg://` URL for Postgres) and
points PREFECT_API_URL at it. Runs until interrupted; each scheduled or manually
triggered run executes here.

    python -m flows.serve [--params params.yaml]
"""

from __future__ import annotations

from pathlib import Path

from prefect.schedules import Cron

from aligngemini.config import load_params
from flows.cli_args import params_parser
from flows.retrain import retrain


def main() -> None:
    # Each run of the deployment takes the run lock; the server holding it would bar every other run.
    params_path = Path(params_parser(__doc__, stage=False).parse_args().params).resolve()
    schedule = load_params(params_path).schedule
    retrain.serve(
        name=schedule.deployment,
        schedules=[Cron(schedule.cron, timezone=schedule.timezone)],
        parameters={"params_path": str(params_path)},
        description="Generate what new generators need, retrain, evaluate, register and gate (flows/retrain.py).",
        tags=["aligngemini", "retrain"],
    )


if __name__ == "__main__":
    main()
