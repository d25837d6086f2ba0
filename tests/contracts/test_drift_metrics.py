"""Column drift and quarantine volumes become CloudWatch metrics (published by Glue Job A)."""

from __future__ import annotations

from collections.abc import Sequence

import boto3
from moto import mock_aws

from telco360.metrics import MetricDatum, clean_report_metrics, publish
from telco360.reports import CleanReport, DatasetCleanReport, FileReport

REPORT = CleanReport(run_date="2025-01-02", datasets={
    "plans": DatasetCleanReport(
        dataset="plans", contract_version="1.0.0", files_read=2, rows_read=21, rows_clean=20, rows_quarantined=1,
        quarantine_reasons={"monthly_price:invalid_decimal": 1}, columns_dropped={"promo_code": 21},
        files=[FileReport(file="plans_20250102.csv", format="csv", rows=21, rows_quarantined=1,
                          unknown_columns=["promo_code"]),
               FileReport(file="plans_fix.csv", format="csv", rows=0, rows_quarantined=0)],
    ),
    "customers": DatasetCleanReport(dataset="customers", contract_version="1.0.0", files_read=0, rows_read=0,
                                    rows_clean=0, rows_quarantined=0),
})


def _values(data: list[MetricDatum], dataset: str) -> dict[str, float]:
    return {d["MetricName"]: d["Value"] for d in data if d["Dimensions"] == [{"Name": "dataset", "Value": dataset}]}


def test_a_report_with_an_unknown_column_gives_drift_metrics_per_dataset() -> None:
    # GIVEN a Job A report where one plans file carried a column the contract does not name
    # WHEN it is turned into metrics
    data = clean_report_metrics(REPORT)
    # THEN the drift is counted for plans, and a quiet dataset reports zeros rather than nothing
    assert _values(data, "plans") == {"RowsRead": 21, "RowsClean": 20, "RowsQuarantined": 1,
                                      "UnknownColumns": 1, "FilesWithUnknownColumns": 1}
    assert _values(data, "customers") == {"RowsRead": 0, "RowsClean": 0, "RowsQuarantined": 0,
                                          "UnknownColumns": 0, "FilesWithUnknownColumns": 0}


def test_metrics_are_published_to_the_pipeline_namespace() -> None:
    with mock_aws():
        client = boto3.client("cloudwatch", region_name="eu-west-1")
        publish(clean_report_metrics(REPORT), client=client)
        names = {m["MetricName"] for m in client.list_metrics(Namespace="Telco360")["Metrics"]}
    assert {"UnknownColumns", "FilesWithUnknownColumns", "RowsQuarantined"} <= names


def test_more_values_than_one_call_takes_are_sent_in_batches() -> None:
    # GIVEN 2500 metric values and a client that records its calls
    calls: list[tuple[str, int]] = []

    class Recorder:
        def put_metric_data(self, *, Namespace: str, MetricData: Sequence[MetricDatum]) -> None:  # noqa: N803
            calls.append((Namespace, len(MetricData)))

    data = clean_report_metrics(REPORT) * 250
    # WHEN they are published THEN no call carries more than CloudWatch's 1000, and none is lost
    publish(data, client=Recorder())
    assert calls == [("Telco360", 1000), ("Telco360", 1000), ("Telco360", 500)]
