"""The S3 mover (telco360.storage.s3) on its own, and ``replay_rejected`` built on it, against moto:
copy, confirm, then a conditional delete, for plain and versioned buckets and multipart copies."""

from __future__ import annotations

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from handler_support import BUCKET, Lake, csv_file

from telco360.ops.lake import REPLAYED_FROM_METADATA, LakeError, replay_rejected
from telco360.storage import s3 as storage

MARKER = {"telco360-test": "m1"}
REJECTED = "rejected/plans/ingest_date=2025-01-02/plans_20250102.csv"


def test_a_move_copies_confirms_and_deletes_keeping_metadata_and_headers(lake: Lake) -> None:
    # GIVEN an object with its own metadata and content type
    lake.s3.put_object(Bucket=BUCKET, Key="a/x.csv", Body=b"abc", Metadata={"origin": "crm"}, ContentType="text/csv")
    source = storage.stat(lake.s3, BUCKET, "a/x.csv")

    # WHEN it is moved
    assert storage.move(lake.s3, source, "b/x.csv", MARKER)

    # THEN the copy holds the bytes, the headers, the metadata and the marker; the source is gone
    copied = lake.s3.get_object(Bucket=BUCKET, Key="b/x.csv")
    assert copied["Body"].read() == b"abc" and copied["ContentType"] == "text/csv"
    assert copied["Metadata"] == {"origin": "crm", **MARKER}
    assert lake.listing() == ["b/x.csv"]


def test_a_source_replaced_after_it_was_read_is_not_copied_or_deleted(lake: Lake) -> None:
    # GIVEN an object read, then overwritten by a newer upload
    lake.put("a/x.csv", b"old")
    source = storage.stat(lake.s3, BUCKET, "a/x.csv")
    lake.put("a/x.csv", b"newer")

    # WHEN the read version is moved / THEN the copy refuses (its ETag no longer matches)
    with pytest.raises(ClientError, match=r"PreconditionFailed|412"):
        storage.move(lake.s3, source, "b/x.csv", MARKER)
    # and a delete of the read version leaves the newer upload alone
    assert storage.delete_if_unchanged(lake.s3, source) is False
    assert lake.listing() == ["a/x.csv"] and lake.get("a/x.csv") == b"newer"


def test_a_copy_that_cannot_be_confirmed_keeps_the_source(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    lake.put("a/x.csv", b"abc")
    source = storage.stat(lake.s3, BUCKET, "a/x.csv")
    monkeypatch.setattr(lake.s3, "copy", lambda **_: None)  # reports success, writes nothing
    with pytest.raises(storage.CopyNotConfirmed):
        storage.move(lake.s3, source, "b/x.csv", MARKER)
    assert lake.listing() == ["a/x.csv"]


def test_a_large_object_is_copied_in_parts_and_confirmed(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the managed copy's multipart threshold lowered to 5 MiB (5 GiB in production)
    monkeypatch.setattr(storage, "COPY_CONFIG", TransferConfig(multipart_threshold=5 << 20,
                                                               multipart_chunksize=5 << 20))
    body = bytes(range(256)) * ((11 << 20) // 256)
    lake.put("a/big.bin", body)
    source = storage.stat(lake.s3, BUCKET, "a/big.bin")

    # WHEN it is moved / THEN the copy is made of parts (its ETag says so), byte for byte
    storage.move(lake.s3, source, "b/big.bin", MARKER)
    assert lake.s3.head_object(Bucket=BUCKET, Key="b/big.bin")["ETag"].endswith('-3"')
    assert lake.get("b/big.bin") == body and lake.listing() == ["b/big.bin"]


def test_in_a_versioned_bucket_the_exact_version_is_copied_and_deleted(lake: Lake) -> None:
    # GIVEN two versions of a key, the first one read
    lake.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = lake.s3.put_object(Bucket=BUCKET, Key="a/x.csv", Body=b"first")["VersionId"]
    lake.put("a/x.csv", b"second")
    source = storage.stat(lake.s3, BUCKET, "a/x.csv", first)

    # WHEN it is moved
    storage.move(lake.s3, source, "b/x.csv", MARKER)

    # THEN the first version's bytes are copied and that version is gone; the second is untouched
    assert lake.get("b/x.csv") == b"first" and lake.get("a/x.csv") == b"second"
    versions = lake.s3.list_object_versions(Bucket=BUCKET, Prefix="a/")["Versions"]
    assert [v["VersionId"] for v in versions] != [] and first not in [v["VersionId"] for v in versions]
    with pytest.raises(storage.ObjectMissing):
        storage.stat(lake.s3, BUCKET, "a/x.csv", first)


def test_free_key_gives_a_unique_name_beside_a_taken_one_and_finds_its_own_copy_again(lake: Lake) -> None:
    lake.put("a/x.csv", b"abc")
    lake.put("b/x.csv", b"someone else's")
    source = storage.stat(lake.s3, BUCKET, "a/x.csv")
    placement = storage.free_key(lake.s3, source, "b/x.csv", "T1", MARKER)
    assert placement == storage.Placement("b/x__T1.csv", already_there=False)
    storage.copy_confirmed(lake.s3, source, placement.key, MARKER)
    # a retry of the same move recognises its copy by the marker
    assert storage.free_key(lake.s3, source, "b/x.csv", "T1", MARKER) == storage.Placement("b/x__T1.csv", True)


@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
def test_replay_rejected_moves_the_file_back_to_raw_and_drops_its_reason(lake: Lake, versioned: bool) -> None:
    # GIVEN a rejected file (fixed by its owner) and its reason file
    if versioned:
        lake.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    content = csv_file("plans")
    lake.put(REJECTED, content)
    lake.put(REJECTED + ".reason.json", b"{}")

    # WHEN it is replayed
    raw = replay_rejected(lake.s3, BUCKET, REJECTED)

    # THEN it is back in raw/plans/, marked with what it was, and nothing is left in rejected/
    assert raw == "raw/plans/plans_20250102.csv"
    assert lake.get(raw) == content and lake.listing() == [raw]
    assert REPLAYED_FROM_METADATA in lake.s3.head_object(Bucket=BUCKET, Key=raw)["Metadata"]


def test_replay_rejected_refuses_a_missing_file(lake: Lake) -> None:
    with pytest.raises(LakeError, match="does not exist"):
        replay_rejected(lake.s3, BUCKET, REJECTED)
    assert lake.listing() == []
