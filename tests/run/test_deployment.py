"""The nightly deployment's schedule: 02:00 in Asia/Seoul, which is 17:00 UTC the day before."""

from __future__ import annotations

import asyncio
import datetime as dt

from pledgeflow.run.deployment import nightly_deployment, nightly_schedules


def next_runs(count: int, start: dt.datetime) -> list[dt.datetime]:
    from prefect.server.schemas.schedules import CronSchedule  # the server's own date arithmetic

    (schedule,) = nightly_schedules()
    server_schedule = CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    return asyncio.run(server_schedule.get_dates(count, start=start))


def test_nightly_runs_at_two_in_seoul_which_is_five_pm_utc_the_day_before():
    runs = next_runs(3, dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc))
    utc = [r.astimezone(dt.timezone.utc) for r in runs]
    assert [(r.day, r.hour, r.minute) for r in utc] == [(28, 17, 0), (29, 17, 0), (30, 17, 0)]
    seoul = [r.astimezone(dt.timezone(dt.timedelta(hours=9))) for r in runs]
    assert [(r.day, r.hour) for r in seoul] == [(29, 2), (30, 2), (1, 2)]


def test_serve_and_prefect_deploy_share_one_schedule():
    deployment = nightly_deployment()
    (schedule,) = nightly_schedules()
    assert (schedule.cron, schedule.timezone) == (deployment["schedules"][0]["cron"], deployment["schedules"][0]["timezone"])
    from prefect.flows import load_flow_from_entrypoint

    from pledgeflow.run.flow import nightly

    # prefect deploy loads the packaged flow itself, not a copy of it
    assert load_flow_from_entrypoint(deployment["entrypoint"], use_placeholder_flow=False) is nightly


def test_serve_registers_the_deployment_prefect_deploy_reads_from_prefect_yaml(tmp_path):
    """Both schedule paths: the deployment `pledgeflow serve` builds has prefect.yaml's fields, root pinned."""
    from pledgeflow.run.deployment import serve_options
    from pledgeflow.run.flow import nightly

    declared = nightly_deployment()  # what `prefect deploy` registers
    served = nightly.to_deployment(**serve_options(tmp_path))  # what `pledgeflow serve` registers
    assert served.name == declared["name"]
    assert served.description == declared["description"]
    assert sorted(served.tags) == sorted(declared["tags"])
    assert served.parameters == {**declared["parameters"], "root": str(tmp_path)}
    assert served.parameters["wait_seconds"] == 600
    schedules = [(s.schedule.cron, s.schedule.timezone, s.active) for s in served.schedules]
    assert schedules == [(s["cron"], s["timezone"], s["active"]) for s in declared["schedules"]]
