"""Small file-system operations on the lake through Hadoop's FileSystem, so the same code works on
``s3://`` (Glue) and on a local folder. Only metadata and small control files (reports, manifests,
CSV header lines) go through here; data always goes through Spark readers and writers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession


@dataclass(frozen=True)
class LakeFile:
    path: str  # fully qualified URI as Hadoop prints it
    name: str
    size: int
    modified: int = 0  # last modification, epoch milliseconds (on S3, whole seconds)


class LakeFS:
    def __init__(self, spark: SparkSession) -> None:
        # py4j objects: the JVM view and Hadoop's Configuration (untyped by nature).
        self._jvm: Any = spark.sparkContext._jvm
        self._conf: Any = spark.sparkContext._jsc.hadoopConfiguration()

    def _resolve(self, uri: str) -> tuple[Any, Any]:  # (FileSystem, Path)
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path.getFileSystem(self._conf), path

    def exists(self, uri: str) -> bool:
        fs, path = self._resolve(uri)
        return bool(fs.exists(path))

    def list_files(self, uri: str) -> list[LakeFile]:
        """Data files directly under a folder (hidden ``_``/``.`` files skipped); [] if it is absent."""
        fs, path = self._resolve(uri)
        if not fs.exists(path):
            return []
        files = []
        for status in fs.listStatus(path):
            name = status.getPath().getName()
            if status.isFile() and not name.startswith(("_", ".")):
                files.append(LakeFile(status.getPath().toString(), name, int(status.getLen()),
                                      int(status.getModificationTime())))
        return sorted(files, key=lambda f: f.name)

    def list_dirs(self, uri: str) -> list[str]:
        """Names of the folders directly under a folder, sorted; [] if it is absent. One listing of
        one level (on S3 a delimited prefix listing), however many files lie below those folders."""
        fs, path = self._resolve(uri)
        if not fs.exists(path):
            return []
        return sorted(str(status.getPath().getName()) for status in fs.listStatus(path) if status.isDirectory())

    def list_tree(self, uri: str) -> list[LakeFile]:
        """Every file below a folder, hidden ones included (one recursive listing: on S3 a flat prefix
        listing, not one call per folder); [] if it is absent."""
        fs, path = self._resolve(uri)
        if not fs.exists(path):
            return []
        files, it = [], fs.listFiles(path, True)
        while it.hasNext():
            status = it.next()
            files.append(LakeFile(status.getPath().toString(), status.getPath().getName(), int(status.getLen()),
                                  int(status.getModificationTime())))
        return sorted(files, key=lambda f: f.path)

    def delete(self, uri: str) -> bool:
        fs, path = self._resolve(uri)
        return bool(fs.delete(path, True))

    def read_bytes(self, uri: str, limit: int | None = None) -> bytes:
        """The (decompressed, by extension) bytes of a file, or its first ``limit`` bytes."""
        fs, path = self._resolve(uri)
        codec = self._jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(self._conf).getCodec(path)
        stream = fs.open(path)
        if codec is not None:
            stream = codec.createInputStream(stream)
        if limit is not None:
            stream = self._jvm.org.apache.commons.io.input.BoundedInputStream(stream, limit)
        try:
            # py4j hands a returned byte[] over as Python bytes in one transfer.
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
        finally:
            stream.close()

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")

    def write_text(self, uri: str, text: str) -> None:
        fs, path = self._resolve(uri)
        stream = fs.create(path, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
