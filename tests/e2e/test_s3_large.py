"""A 1 GiB object through S3 (multipart upload with boto3's transfer
manager, then a streamed download) with the gateway's peak memory bounded:
object bytes stream into and out of the host's blobs, never into wasm."""

import hashlib
import os
import time

from boto3.s3.transfer import TransferConfig


def vm_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def test_one_gib_round_trip_with_bounded_gateway_memory(make_gateway, tmp_path):
    g = make_gateway(env={"S3_PERSIST": "1"})
    # CompleteMultipartUpload concatenates 1 GiB of parts (and digests it)
    s3 = g.client("s3", s3={"addressing_style": "path"}, read_timeout=300)
    s3.create_bucket(Bucket="large")
    src = tmp_path / "one.gib"
    chunk = os.urandom(1 << 20)
    digest = hashlib.md5()
    with open(src, "wb") as f:
        for i in range(1024):
            block = chunk[:-8] + i.to_bytes(8, "big")  # no two MiB alike
            digest.update(block)
            f.write(block)
    config = TransferConfig(multipart_chunksize=16 << 20, max_concurrency=4)
    started = time.time()
    s3.upload_file(str(src), "large", "one.gib", Config=config)
    head = s3.head_object(Bucket="large", Key="one.gib")
    assert head["ContentLength"] == 1 << 30
    assert head["ETag"].endswith('-64"')
    src.unlink()
    back = tmp_path / "back.gib"
    s3.download_file("large", "one.gib", str(back), Config=config)
    elapsed = time.time() - started
    down = hashlib.md5()
    with open(back, "rb") as f:
        while block := f.read(1 << 20):
            down.update(block)
    assert back.stat().st_size == 1 << 30
    assert down.hexdigest() == digest.hexdigest()
    peak = vm_hwm_mib(g.proc.pid)
    print(f"1 GiB S3 round trip in {elapsed:.1f} s, gateway VmHWM {peak:.0f} MiB")
    assert peak < 300
