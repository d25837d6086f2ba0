"""Contract §2's cast rules as Spark Column expressions (built-in functions only, ANSI-safe).

Every builder takes the raw text of one column and its contract ``Column`` and returns a ``Cast``:
``value`` (the typed value, null when the text is null/blank or does not cast) and ``ok`` (false only
when a non-null text failed its rule). A failed cast is therefore never a silent null: the caller
quarantines every row where ``ok`` is false. Text is matched with a strict regex *before* any
``cast``, so a cast only ever sees input it accepts and nothing raises with
``spark.sql.ansi.enabled=true``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F
from pyspark.sql import types as T

from telco360.contracts import Column, ColumnType
from telco360.spark.schemas import spark_type

_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})"  # date, time
    r"(?:\.([0-9]{1,6}))?(Z|[+-][0-9]{2}:[0-9]{2})?$"  # fraction, offset
)
_CANONICAL_TIMESTAMP = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"
_INT = r"^([+-]?)0*([0-9]+)$"
_DECIMAL = r"^[+-]?[0-9]+(\.[0-9]+)?$"
# An NDJSON number reaches the cast as Spark's JSON parser prints it: Java's double notation, which
# turns to d.dddE±n outside [0.001, 10^7) (12345678.9 -> "1.23456789E7"). That form is accepted for
# decimals too; it is exact up to 15 significant digits, more than any decimal(p<=15, s) holds.
_JSON_DOUBLE = r"^[+-]?[0-9]\.[0-9]+E([+-]?[0-9]{1,3})$"
_LONG_MAX_DIGITS = str(2**63 - 1)
_LONG_MIN_DIGITS = str(2**63)
_TRUE = ("y", "yes", "true", "1")
_FALSE = ("n", "no", "false", "0")
_SURROUNDING_SPACE = r"^\s+|\s+$"


class Cast(NamedTuple):
    value: SparkColumn
    ok: SparkColumn


def clean_text(raw: SparkColumn) -> SparkColumn:
    """Trimmed text, null when blank (the string rule, and the first step of every other rule)."""
    trimmed = F.regexp_replace(raw, _SURROUNDING_SPACE, "")
    return F.when(trimmed != "", trimmed)


def _checked(text: SparkColumn, value: SparkColumn) -> Cast:
    # A null value from a non-null text is exactly "did not cast".
    return Cast(value, text.isNull() | value.isNotNull())


def cast_string(text: SparkColumn, column: Column) -> Cast:
    return Cast(F.lower(text) if column.lowercase else text, F.lit(True))


def cast_enum(text: SparkColumn, column: Column) -> Cast:
    low = F.lower(text)
    return _checked(text, F.when(low.isin(*column.allowed_values), low))


def cast_date(text: SparkColumn, column: Column) -> Cast:
    # try_to_timestamp turns 2025-02-30 into null (never an ANSI error or a roll-over to March).
    parsed = F.try_to_timestamp(text, F.lit("yyyy-MM-dd")).cast(T.DateType())
    return _checked(text, F.when(text.rlike(_DATE), parsed))


def cast_timestamp(text: SparkColumn, column: Column) -> Cast:
    # Every accepted form is rewritten to one canonical text (6-digit fraction, explicit offset, no
    # offset = UTC) so that a single fixed pattern parses it.
    offset = F.regexp_extract(text, _TIMESTAMP, 4)
    canonical = F.concat(
        F.regexp_extract(text, _TIMESTAMP, 1), F.lit("T"), F.regexp_extract(text, _TIMESTAMP, 2), F.lit("."),
        F.rpad(F.regexp_extract(text, _TIMESTAMP, 3), 6, "0"),
        F.when(offset.isin("", "Z"), F.lit("+00:00")).otherwise(offset),
    )
    parsed = F.try_to_timestamp(canonical, F.lit(_CANONICAL_TIMESTAMP))
    return _checked(text, F.when(text.rlike(_TIMESTAMP), parsed))


def cast_int(text: SparkColumn, column: Column) -> Cast:
    # Range-check the digits as text (equal-length digit strings compare like numbers), so the
    # cast below can neither overflow nor raise under ANSI.
    negative = F.regexp_extract(text, _INT, 1) == "-"
    digits = F.regexp_extract(text, _INT, 2)
    in_range = (F.length(digits) < len(_LONG_MAX_DIGITS)) | (
        (F.length(digits) == len(_LONG_MAX_DIGITS))
        & F.when(negative, digits <= _LONG_MIN_DIGITS).otherwise(digits <= _LONG_MAX_DIGITS)
    )
    return _checked(text, F.when(text.rlike(_INT) & in_range, text.cast(T.LongType())))


def cast_decimal(text: SparkColumn, column: Column) -> Cast:
    precision, scale = column.precision or 38, column.scale or 0
    exponent = F.regexp_extract(text, _JSON_DOUBLE, 1)
    integer_digits = (
        F.when(text.rlike(_JSON_DOUBLE), F.greatest(exponent.cast(T.IntegerType()) + 1, F.lit(0)))
        .otherwise(F.length(F.regexp_extract(text, r"^[+-]?0*([0-9]*)", 1)))
    )
    # One spare digit holds a rounding carry (9.995 -> 10.00); Spark's string->decimal cast rounds
    # HALF_UP (ties away from zero, also for negatives), as contract §2 asks.
    wide = T.DecimalType(min(38, precision + 1), scale)
    fits = (text.rlike(_DECIMAL) | text.rlike(_JSON_DOUBLE)) & (integer_digits <= precision - scale)
    rounded = F.when(fits, text.cast(wide))
    limit = F.lit(10 ** (precision - scale)).cast(T.DecimalType(38, 0))
    value = F.when(F.abs(rounded) < limit, rounded.cast(T.DecimalType(precision, scale)))
    return _checked(text, value)


def cast_boolean(text: SparkColumn, column: Column) -> Cast:
    low = F.lower(text)
    return _checked(text, F.when(low.isin(*_TRUE), F.lit(True)).when(low.isin(*_FALSE), F.lit(False)))


def cast_json(text: SparkColumn, column: Column) -> Cast:
    # get_json_object(v, '$') re-serializes compactly and is null for text that is not JSON.
    return _checked(text, F.when(text.startswith("{"), F.get_json_object(text, "$")))


_BUILDERS: dict[ColumnType, Callable[[SparkColumn, Column], Cast]] = {
    "string": cast_string,
    "enum": cast_enum,
    "date": cast_date,
    "timestamp": cast_timestamp,
    "int": cast_int,
    "decimal": cast_decimal,
    "boolean": cast_boolean,
    "json": cast_json,
}


def cast_column(raw: SparkColumn, column: Column) -> Cast:
    """The typed value of one raw text column (with the column's clean Spark type) and its ``ok``."""
    text = clean_text(raw)
    cast = _BUILDERS[column.type](text, column)
    return Cast(cast.value.cast(spark_type(column)), cast.ok)


def reason_codes(raw: SparkColumn, column: Column) -> tuple[SparkColumn, Cast]:
    """The column's reason code when it breaks a rule (``<column>:required`` or
    ``<column>:invalid_<type>``), else null; and its Cast."""
    cast = cast_column(raw, column)
    reason = F.when(~cast.ok, F.lit(f"{column.name}:invalid_{column.type}"))
    if column.required:
        reason = F.when(cast.value.isNull() & cast.ok, F.lit(f"{column.name}:required")).otherwise(reason)
    return reason, cast
