"""A 1 GiB object through S3 (multipart upload with boto3's transfer
manager, then a streamed download) with the gateway's peak memory bounded:
object bytes stream into and out of the host's blobs, never into wasm."""

import hashlib
import io
import os
import time

import pytest
from boto3.s3.transfer import TransferConfig
from conftest import DISK_HEAVY, require_free_disk


def vm_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


class Blocks:
    """`count` MiB, each one distinct, made as they are read: the upload
    needs no 1 GiB file on disk. Not seekable, so boto3 reads it part by
    part; `read(n)` returns n bytes until the end (a short read would make
    a short part)."""

    def __init__(self, count, digest):
        self.chunk = os.urandom(1 << 20)
        self.count, self.index, self.digest = count, 0, digest
        self.pending = b""

    def read(self, amount=-1):
        out = bytearray()
        while amount < 0 or len(out) < amount:
            if not self.pending:
                if self.index == self.count:
                    break
                self.pending = self.chunk[:-8] + self.index.to_bytes(8, "big")  # no two MiB alike
                self.digest.update(self.pending)
                self.index += 1
            take = len(self.pending) if amount < 0 else min(amount - len(out), len(self.pending))
            out += self.pending[:take]
            self.pending = self.pending[take:]
        return bytes(out)


class Digesting(io.RawIOBase):
    """A download target that keeps only the digest and the length."""

    def __init__(self):
        self.digest, self.size = hashlib.md5(), 0

    def writable(self):
        return True

    def write(self, data):
        self.digest.update(data)
        self.size += len(data)
        return len(data)


@pytest.mark.xdist_group(DISK_HEAVY)
def test_one_gib_round_trip_with_bounded_gateway_memory(make_gateway):
    # The gateway keeps the parts and then the object they make.
    require_free_disk(5 << 29, "a 1 GiB multipart upload with S3_PERSIST=1")
    g = make_gateway(env={"S3_PERSIST": "1"})
    # CompleteMultipartUpload concatenates 1 GiB of parts (and digests it)
    s3 = g.client("s3", s3={"addressing_style": "path"}, read_timeout=300)
    s3.create_bucket(Bucket="large")
    up = hashlib.md5()
    config = TransferConfig(multipart_chunksize=16 << 20, max_concurrency=4)
    started = time.time()
    s3.upload_fileobj(Blocks(1024, up), "large", "one.gib", Config=config)
    head = s3.head_object(Bucket="large", Key="one.gib")
    assert head["ContentLength"] == 1 << 30
    assert head["ETag"].endswith('-64"')
    # Ranged GETs in parallel, written in order (the target cannot seek).
    back = Digesting()
    s3.download_fileobj("large", "one.gib", back, Config=config)
    elapsed = time.time() - started
    assert back.size == 1 << 30
    assert back.digest.hexdigest() == up.hexdigest()
    peak = vm_hwm_mib(g.proc.pid)
    print(f"1 GiB S3 round trip in {elapsed:.1f} s, gateway VmHWM {peak:.0f} MiB")
    assert peak < 300
