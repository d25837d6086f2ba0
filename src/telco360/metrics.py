"""CloudWatch metrics from Job A's run report, so that column drift and quarantine volumes are
visible without reading reports (docs/contracts.md, "Drift"). Published by the Glue entrypoint only;
local runs keep the report."""

from __future__ import annotations

from typing import Any

NAMESPACE = "Telco360"


def clean_report_metrics(report: dict[str, Any]) -> list[dict[str, Any]]:
    """CloudWatch ``MetricData`` for one Job A report: per dataset, rows read/clean/quarantined, the
    columns the contract does not name (distinct names seen that day) and how many files carried
    them."""
    data: list[dict[str, Any]] = []
    for dataset, part in sorted(report["datasets"].items()):
        drifted = [f for f in part["files"] if f["unknown_columns"]]
        values = {
            "RowsRead": part["rows_read"],
            "RowsClean": part["rows_clean"],
            "RowsQuarantined": part["rows_quarantined"],
            "UnknownColumns": len(part["columns_dropped"]),
            "FilesWithUnknownColumns": len(drifted),
        }
        data += [
            {"MetricName": name, "Dimensions": [{"Name": "dataset", "Value": dataset}], "Value": value,
             "Unit": "Count"}
            for name, value in values.items()
        ]
    return data


def publish(metric_data: list[dict[str, Any]], namespace: str = NAMESPACE, client: Any = None) -> None:
    if client is None:
        import boto3

        client = boto3.client("cloudwatch")
    for start in range(0, len(metric_data), 1000):  # PutMetricData takes at most 1000 values a call
        client.put_metric_data(Namespace=namespace, MetricData=metric_data[start:start + 1000])
