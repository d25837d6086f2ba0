"""CloudWatch metrics from Job A's run report, so that column drift and quarantine volumes are
visible without reading reports (docs/contracts.md, "Drift"). Published by the Glue entrypoint only;
local runs keep the report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypedDict

from telco360.reports import CleanReport

NAMESPACE = "Telco360"
# PutMetricData takes at most 1000 values a call.
MAX_METRICS_PER_CALL = 1000


# CloudWatch's own field names (the API's casing), so a datum goes to boto3 as it is.
class Dimension(TypedDict):
    Name: str
    Value: str


class MetricDatum(TypedDict):
    MetricName: str
    Dimensions: list[Dimension]
    Value: float
    Unit: str


class CloudWatch(Protocol):
    """The one call of boto3's CloudWatch client this module makes (boto3's keyword names)."""

    def put_metric_data(self, *, Namespace: str, MetricData: Sequence[MetricDatum]) -> Any: ...  # noqa: N803


def clean_report_metrics(report: CleanReport) -> list[MetricDatum]:
    """CloudWatch ``MetricData`` for one Job A report: per dataset, rows read/clean/quarantined, the
    columns the contract does not name (distinct names seen that day) and how many files carried
    them."""
    data: list[MetricDatum] = []
    for dataset, part in sorted(report.datasets.items()):
        values = {
            "RowsRead": part.rows_read,
            "RowsClean": part.rows_clean,
            "RowsQuarantined": part.rows_quarantined,
            "UnknownColumns": len(part.columns_dropped),
            "FilesWithUnknownColumns": sum(1 for f in part.files if f.unknown_columns),
        }
        data += [
            MetricDatum(MetricName=name, Dimensions=[Dimension(Name="dataset", Value=dataset)], Value=value,
                        Unit="Count")
            for name, value in values.items()
        ]
    return data


def publish(metric_data: Sequence[MetricDatum], namespace: str = NAMESPACE, client: CloudWatch | None = None) -> None:
    if client is None:
        import boto3

        client = boto3.client("cloudwatch")
    for start in range(0, len(metric_data), MAX_METRICS_PER_CALL):
        client.put_metric_data(Namespace=namespace, MetricData=metric_data[start:start + MAX_METRICS_PER_CALL])
