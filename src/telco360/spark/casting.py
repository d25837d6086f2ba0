"""docs/spec.md §2's cast rules as Spark Column expressions (built-in functions only, ANSI-safe).

Each rule maps a column's cleaned text (``clean_text``: trimmed of ASCII white space, null when
blank) to its typed value, null when the text is null or does not cast; a non-null text with a null
value is exactly "did not cast", so a failed cast is never a silent null: ``column_reason`` names
it and the record goes to quarantine. Text is matched with a strict regex *before* any ``cast``, so
a cast only ever sees input it accepts and nothing raises with ``spark.sql.ansi.enabled=true``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from pyspark.sql import Column as SparkColumn
from pyspark.sql import functions as F
from pyspark.sql import types as T

from telco360.contracts import Column, ColumnType
from telco360.reports import ReasonCode
from telco360.spark.schemas import spark_type

# docs/spec.md §2's forms, exactly (ASCII digits, capital T and Z).
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?$"
_INT = r"^[+-]?[0-9]+$"
_DECIMAL = r"^[+-]?[0-9]+(\.[0-9]+)?$"
# An NDJSON number reaches the cast as Spark's JSON parser prints it: Java's double notation, which
# turns to d.dddE±n outside [0.001, 10^7) (12345678.9 -> "1.23456789E7"). That form is accepted for
# decimals too; it is exact up to 15 significant digits, more than any decimal(p<=15, s) holds.
_JSON_DOUBLE = r"^[+-]?[0-9]\.[0-9]+E([+-]?[0-9]{1,3})$"
_LONG_MAX_DIGITS = str(2**63 - 1)
_LONG_MIN_DIGITS = str(2**63)
_TRUE = ("y", "yes", "true", "1")
_FALSE = ("n", "no", "false", "0")
_ASCII_SPACE = " \t\n\u000b\f\r"  # what Java's \s matches: ASCII white space only (NBSP is text)


class Cast(NamedTuple):
    value: SparkColumn
    ok: SparkColumn


def clean_text(raw: SparkColumn, spaces_only: SparkColumn | None = None) -> SparkColumn:
    """Trimmed text, null when blank (the string rule, and the first step of every other rule).

    ``spaces_only``: true when the value can hold no white space but the space (read_raw knows it per
    record). Then Spark's plain ``trim`` does it, which returns the value itself when there is nothing
    to trim; ``btrim`` with a character set walks every character and allocates two arrays per value
    (about a tenth of activity's CPU in a JFR profile)."""
    return blank_as_null(trimmed_text(raw, spaces_only))


def trimmed_text(raw: SparkColumn, spaces_only: SparkColumn | None = None) -> SparkColumn:
    """``raw`` trimmed of ASCII white space (``clean_text`` without its blank test)."""
    every_space = F.btrim(raw, F.lit(_ASCII_SPACE))
    return every_space if spaces_only is None else F.when(spaces_only, F.trim(raw)).otherwise(every_space)


def blank_as_null(trimmed: SparkColumn) -> SparkColumn:
    """Null for an empty text. Spark evaluates ``trimmed`` twice here unless it is a column of an
    earlier step (the second use sits in a conditional branch, which common subexpression
    elimination leaves out)."""
    return F.when(trimmed != "", trimmed)


# Each rule maps a column's cleaned text (``clean_text``, already computed: the job computes it
# once) to its typed value, null when the text is null or does not cast. A non-null text with a null
# value is exactly "did not cast".
def cast_string(text: SparkColumn, column: Column) -> SparkColumn:
    return F.lower(text) if column.lowercase else text


def cast_enum(text: SparkColumn, column: Column) -> SparkColumn:
    low = F.lower(text)
    return F.when(low.isin(*column.allowed_values), low)


def cast_date(text: SparkColumn, column: Column) -> SparkColumn:
    # The regex fixes the contract's form (exactly 4-2-2 ASCII digits, nothing around); Spark's own
    # string -> timestamp parser then reads it, null for a date that does not exist (2025-02-30: never
    # an ANSI error or a roll-over to March). Year 0000 (1 BC) is not in docs/spec.md §2.
    # tests/spark/test_casting.py holds the edge cases and a property against a Python reading.
    return F.when(text.rlike(_DATE) & ~text.startswith("0000"), F.try_to_timestamp(text).cast(T.DateType()))


def cast_timestamp(text: SparkColumn, column: Column) -> SparkColumn:
    # The regex is docs/spec.md §2's form; Spark's own parser (try_to_timestamp without a pattern: the
    # parser of a string -> timestamp cast) reads what passes it, null for a time or date that does not
    # exist or an offset beyond ±18:00 (Java's limit). A missing offset is the session's UTC. Year 0000
    # is not in the contract. Measured on the realistic day: Job A's CPU 14 % lower than with a
    # java.time pattern (try_to_timestamp(text, "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS][XXX]")). A final Z
    # (the form has nothing after it) is the session's UTC: parsed without it, Spark does not resolve
    # a zone id for every value (Spark's getZoneId compiles two regexes each time: measured, the
    # parse of such a value costs half as much CPU).
    utc = text.endswith("Z")
    local = F.when(utc, text.substr(F.lit(1), F.length(text) - 1)).otherwise(text)
    return F.when(text.rlike(_TIMESTAMP) & ~text.startswith("0000"), F.try_to_timestamp(local))


def cast_int(text: SparkColumn, column: Column) -> SparkColumn:
    # Range-check the digits as text (equal-length digit strings compare like numbers), so the
    # cast below can neither overflow nor raise under ANSI.
    negative = text.startswith("-")
    digits = F.regexp_replace(text, "^[+-]?0*(?=[0-9])", "")
    in_range = (F.length(digits) < len(_LONG_MAX_DIGITS)) | (
        (F.length(digits) == len(_LONG_MAX_DIGITS))
        & F.when(negative, digits <= _LONG_MIN_DIGITS).otherwise(digits <= _LONG_MAX_DIGITS)
    )
    return F.when(text.rlike(_INT) & in_range, text.cast(T.LongType()))


def cast_decimal(text: SparkColumn, column: Column) -> SparkColumn:
    precision, scale = column.precision or 38, column.scale or 0
    exponent = F.regexp_extract(text, _JSON_DOUBLE, 1)
    integer_digits = (
        F.when(text.rlike(_JSON_DOUBLE), F.greatest(exponent.cast(T.IntegerType()) + 1, F.lit(0)))
        .otherwise(F.length(F.regexp_extract(text, r"^[+-]?0*([0-9]*)", 1)))
    )
    # One spare digit holds a rounding carry (9.995 -> 10.00); Spark's string->decimal cast rounds
    # HALF_UP (ties away from zero, also for negatives), as docs/spec.md §2 asks.
    wide = T.DecimalType(min(38, precision + 1), scale)
    fits = (text.rlike(_DECIMAL) | text.rlike(_JSON_DOUBLE)) & (integer_digits <= precision - scale)
    rounded = F.when(fits, text.cast(wide))
    limit = F.lit(10 ** (precision - scale)).cast(T.DecimalType(38, 0))
    return F.when(F.abs(rounded) < limit, rounded.cast(T.DecimalType(precision, scale)))


def cast_boolean(text: SparkColumn, column: Column) -> SparkColumn:
    low = F.lower(text)
    return F.when(low.isin(*_TRUE), F.lit(True)).when(low.isin(*_FALSE), F.lit(False))


def cast_json(text: SparkColumn, column: Column) -> SparkColumn:
    # get_json_object(v, '$') re-serializes compactly and is null for text that is not JSON.
    return F.when(text.startswith("{"), F.get_json_object(text, "$"))


_BUILDERS: dict[ColumnType, Callable[[SparkColumn, Column], SparkColumn]] = {
    "string": cast_string,
    "enum": cast_enum,
    "date": cast_date,
    "timestamp": cast_timestamp,
    "int": cast_int,
    "decimal": cast_decimal,
    "boolean": cast_boolean,
    "json": cast_json,
}


def typed_value(text: SparkColumn, column: Column) -> SparkColumn:
    """The typed value (the column's clean Spark type) of a column's cleaned text."""
    return _BUILDERS[column.type](text, column).cast(spark_type(column))


def cast_column(raw: SparkColumn, column: Column) -> Cast:
    """The typed value of one raw text column and its ``ok`` (false only when a non-null text failed
    its rule), in one expression: for tests and small frames; the job computes each step once."""
    text = clean_text(raw)
    value = typed_value(text, column)
    return Cast(value, text.isNull() | value.isNotNull())


def reason(column: str, code: ReasonCode) -> SparkColumn:
    """A quarantine reason (schemas.REASON_TYPE) as a literal."""
    return F.struct(F.lit(column).alias("column"), F.lit(code.value).alias("code"))


def column_reason(text: SparkColumn, value: SparkColumn, column: Column) -> SparkColumn:
    """The column's reason when it breaks a rule (``required`` or ``invalid_<type>``), else null."""
    found = F.when(text.isNotNull() & value.isNull(), reason(column.name, ReasonCode.invalid(column.type)))
    if column.required:
        found = F.when(text.isNull(), reason(column.name, ReasonCode.REQUIRED)).otherwise(found)
    return found


def reason_codes(raw: SparkColumn, column: Column) -> tuple[SparkColumn, Cast]:
    """``column_reason`` and the Cast of one raw text column, in one expression (tests)."""
    cast = cast_column(raw, column)
    return column_reason(clean_text(raw), cast.value, column), cast
