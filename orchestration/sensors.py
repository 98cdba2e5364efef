"""Run-failure alerting: one clear, grep-able log line per failed run (ship it to your log alerting)."""

import logging

import dagster as dg

alert_log = logging.getLogger("pipeline_pulse.alerts")


def alert_line(job_name: str, run_id: str, message: str) -> str:
    summary = " ".join(message.split())[:500]
    return f"ALERT pipeline-pulse run failed: job={job_name} run_id={run_id} error={summary}"


@dg.run_failure_sensor(name="run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    line = alert_line(context.dagster_run.job_name, context.dagster_run.run_id, context.failure_event.message or "")
    alert_log.error(line)
    context.log.error(line)
