"""Reading clean history written under older contract versions (docs/contracts.md).

Each clean partition records the contract version that wrote it (a hidden marker file beside its
Parquet files, which Spark ignores). Readers group the partitions they need by that version, read
each group with the schema of its own version (Spark 3.5's Parquet reader cannot widen
``decimal(12,2)`` to ``decimal(14,4)`` or ``bigint`` to ``decimal`` on its own), and convert every
group to the current contract: a column the old version did not have reads as a typed null, a widened
type as the new type. With one version in play (the usual case) this is one plain partition-pruned
read of the dataset folder.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from telco360 import zones
from telco360.contracts import Contract, get_contract
from telco360.contracts.compat import contract_at, released_versions
from telco360.spark.lakefs import LakeFS
from telco360.spark.schemas import INGEST_DATE, PROVENANCE, clean_schema, spark_type

MARKER_PREFIX = "_contract-"
_MARKER = re.compile(r"^_contract-(\d+\.\d+\.\d+)\.json$")


def marker_name(contract: Contract) -> str:
    return f"{MARKER_PREFIX}{contract.version}.json"


def write_version_marker(fs: LakeFS, partition_uri: str, contract: Contract) -> None:
    """Record which contract version wrote a clean partition (call after the partition is written)."""
    body = {"dataset": contract.name, "contract_version": contract.version}
    fs.write_text(zones.join(partition_uri, marker_name(contract)), json.dumps(body))


def _oldest_version(dataset: str) -> str:
    # Partitions written before versions were recorded belong to the first release.
    versions = released_versions(dataset)
    return next(iter(versions)) if versions else get_contract(dataset).version


def partition_versions(fs: LakeFS, root: str, dataset: str, on: str | None = None) -> dict[str, str]:
    """``{ingest_date: contract version}`` for every clean partition of a dataset (one listing), or
    for the partition of ``on`` alone (a listing that does not grow with history)."""
    found: dict[str, str] = {}
    default = _oldest_version(dataset)
    for f in fs.list_tree(zones.clean_path(root, dataset, on)):
        day = zones.partition_date(f.path)
        if day is None:
            continue
        marker = _MARKER.match(f.name)
        if marker:
            found[day] = marker.group(1)
        else:
            found.setdefault(day, default)
    return found


def _conform(source: Contract, target: Contract) -> list[SparkColumn]:
    """Columns of ``target``'s clean schema from data written with ``source``'s."""
    present = set(source.column_names)
    cols = [
        (F.col(c.name).cast(spark_type(c)) if c.name in present else F.lit(None).cast(spark_type(c))).alias(c.name)
        for c in target.columns
    ]
    return [*cols, *(F.col(f.name) for f in PROVENANCE), F.col(INGEST_DATE)]


def history_schema(contract: Contract) -> T.StructType:
    return T.StructType([*clean_schema(contract).fields, T.StructField(INGEST_DATE, T.DateType(), False)])


def read_clean(spark: SparkSession, root: str, dataset: str, *, upto: str | None = None,
                       on: str | None = None) -> DataFrame:
    """Clean rows of a dataset with ``ingest_date <= upto`` (or ``== on``), in the current contract's
    clean schema plus ``ingest_date``, whichever contract versions wrote them."""
    current = get_contract(dataset)
    fs = LakeFS(spark)
    wanted = {d: v for d, v in partition_versions(fs, root, dataset, on).items()
              if (upto is None or d <= upto) and (on is None or d == on)}
    if not wanted:
        return spark.createDataFrame([], history_schema(current))
    by_version: dict[str, list[str]] = defaultdict(list)
    for day, version in sorted(wanted.items()):
        by_version[version].append(day)
    frames = []
    for version, days in by_version.items():
        source = contract_at(dataset, version)
        in_group = F.col(INGEST_DATE).isin([F.lit(d).cast("date") for d in days]) if len(by_version) > 1 \
            else F.lit(True)
        bound = (F.col(INGEST_DATE) <= F.lit(upto).cast("date")) if upto else F.lit(True)
        exact = (F.col(INGEST_DATE) == F.lit(on).cast("date")) if on else F.lit(True)
        frame = (
            spark.read.schema(history_schema(source))
            .parquet(zones.clean_path(root, dataset))
            .where(bound & exact & in_group)
            .select(*_conform(source, current))
        )
        frames.append(frame)
    return reduce(lambda a, b: a.unionByName(b), frames)
