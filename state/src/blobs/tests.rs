use super::*;
use crate::tests::{Rng, run_and_kill, temp_dir};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` against an in-memory store and a persistent one.
fn both(name: &str, f: impl Fn(&BlobStore, bool)) {
    f(&BlobStore::open(BlobConfig::in_memory()).unwrap(), false);
    let dir = temp_dir(name);
    f(
        &BlobStore::open(BlobConfig::persistent(&dir)).unwrap(),
        true,
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn checksum<'a>(info: &'a BlobInfo, algorithm: &str) -> &'a str {
    info.checksums
        .iter()
        .find(|(a, _)| a == algorithm)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

#[test]
fn digests_match_known_vectors() {
    both("vectors", |store, _| {
        rt().block_on(async {
            let info = store.create("s3", b"Hello world").await.unwrap();
            assert_eq!(info.size, 11);
            assert_eq!(info.md5_hex, "3e25960a79dbc69b674cd4ec67a72c62");
            assert_eq!(checksum(&info, "CRC32"), "i9aeUg==");
            assert_eq!(checksum(&info, "SHA1"), "e1AsOh9IyGCa4hLN+2Od7jlnP14=");
            assert_eq!(
                checksum(&info, "SHA256"),
                "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="
            );
            let names: Vec<&str> = info.checksums.iter().map(|(a, _)| a.as_str()).collect();
            assert_eq!(names, ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]);
            assert_eq!(store.stat("s3", &info.id), Some(info.clone()));
            // Streaming in uneven chunks (some above the off-thread size) gives the same digests.
            let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
            let mut w = store.writer("s3").unwrap();
            for piece in data.chunks(70_001) {
                w.write(piece).await.unwrap();
            }
            let streamed = w.finish().await.unwrap();
            let direct = crate::checksum::Digests::of(&data);
            assert_eq!(streamed.md5_hex, direct.md5_hex());
            assert_eq!(streamed.checksums, direct.checksums());
            let empty = store.create("s3", b"").await.unwrap();
            assert_eq!(empty.md5_hex, "d41d8cd98f00b204e9800998ecf8427e");
            assert_eq!(store.read("s3", &empty.id, 0, 10).await.unwrap().len(), 0);
        });
    });
}

#[test]
fn only_the_checksums_asked_for() {
    both("some-checksums", |store, persist| {
        rt().block_on(async {
            let algorithms = Algorithms::DEFAULT.with("sha1");
            // 1 MiB in 64 KiB chunks: past PIPE_AT, the two threads take over.
            let data: Vec<u8> = (0..1u32 << 20).map(|i| (i * 31 % 253) as u8).collect();
            let mut w = store.writer_with("s3", algorithms, Some(1 << 20)).unwrap();
            for piece in data.chunks(64 << 10) {
                w.write_bytes(Bytes::copy_from_slice(piece)).await.unwrap();
            }
            let info = w.finish().await.unwrap();
            let all = crate::checksum::Digests::of(&data);
            assert_eq!(info.md5_hex, all.md5_hex());
            assert_eq!(
                info.checksums,
                [
                    ("SHA1".to_string(), all.checksum("SHA1").unwrap()),
                    ("CRC64NVME".to_string(), all.checksum("CRC64NVME").unwrap()),
                ]
            );
            // The trailer says which were computed.
            assert_eq!(store.stat("s3", &info.id), Some(info.clone()));
            assert_eq!(store.read("s3", &info.id, 0, 2 << 20).await.unwrap(), data);
            let slice = store.slice_in_memory("s3", &info.id, 10, 20);
            assert_eq!(slice.as_deref(), (!persist).then_some(&data[10..20]));
            assert_eq!(store.slice_in_memory("s3", &info.id, 0, 2 << 20), None);
            // A piped writer dropped unfinished leaves nothing behind.
            let mut w = store.writer_with("s3", Algorithms::DEFAULT, None).unwrap();
            w.write_bytes(Bytes::from(data.clone())).await.unwrap();
            drop(w);
            if persist {
                for _ in 0..100 {
                    let dir = store.inner.plugin_dir("s3");
                    let tmp = std::fs::read_dir(dir)
                        .unwrap()
                        .flatten()
                        .any(|e| e.file_name().to_string_lossy().starts_with(TMP_PREFIX));
                    if !tmp {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
            assert_eq!(store.list("s3"), std::slice::from_ref(&info.id));
        });
    });
}

#[test]
fn ranges_and_concat() {
    both("ranges", |store, _| {
        rt().block_on(async {
            let a = store.create("s3", b"0123456789").await.unwrap();
            let b = store.create("s3", b"abcdefghij").await.unwrap();
            let read = |id: String, off, len| async move {
                store.read("s3", &id, off, len).await.unwrap().to_vec()
            };
            assert_eq!(read(a.id.clone(), 0, 10).await, b"0123456789");
            assert_eq!(read(a.id.clone(), 3, 4).await, b"3456");
            assert_eq!(read(a.id.clone(), 8, 100).await, b"89");
            assert_eq!(read(a.id.clone(), 10, 5).await, b"");
            assert_eq!(read(a.id.clone(), 50, 5).await, b"");
            assert_eq!(read(a.id.clone(), 5, u64::MAX).await, b"56789");
            let parts = vec![
                (a.id.clone(), 2, 3),
                (b.id.clone(), 0, 10),
                (a.id.clone(), 9, 1),
            ];
            let c = store.concat("s3", &parts).await.unwrap();
            let expected = b"234abcdefghij9";
            assert_eq!(read(c.id.clone(), 0, 100).await, expected);
            assert_eq!(c.size, expected.len() as u64);
            assert_eq!(c.md5_hex, crate::checksum::Digests::of(expected).md5_hex());
            assert!(store.concat("s3", &[(a.id.clone(), 5, 6)]).await.is_err());
            assert!(
                store
                    .concat("s3", &[(a.id.clone(), u64::MAX, 2)])
                    .await
                    .is_err()
            );
            assert!(
                store
                    .concat("s3", &[("b0000000000000000000000000000000f".into(), 0, 0)])
                    .await
                    .is_err()
            );
            // Other plugins do not see the blob.
            assert_eq!(store.stat("sqs", &a.id), None);
            assert!(store.read("sqs", &a.id, 0, 1).await.is_err());
        });
    });
}

#[test]
fn share_hands_the_bytes_to_another_namespace() {
    both("share", |store, _| {
        rt().block_on(async {
            let a = store.create("s3", b"shared bytes").await.unwrap();
            let b = store.share("s3", &a.id, "dynamodb").unwrap();
            assert_ne!(a.id, b.id);
            assert_eq!((b.size, &b.md5_hex), (a.size, &a.md5_hex));
            assert_eq!(
                store.read("dynamodb", &b.id, 0, 100).await.unwrap(),
                &b"shared bytes"[..]
            );
            // Each side's release is its own.
            store.release("s3", &a.id);
            assert_eq!(
                store.read("dynamodb", &b.id, 7, 5).await.unwrap(),
                &b"bytes"[..]
            );
            store.release("dynamodb", &b.id);
            assert_eq!(store.stat("dynamodb", &b.id), None);
            // Only an existing blob of the source namespace can be shared.
            assert!(store.share("s3", &a.id, "sqs").is_err());
            assert!(store.share("s3", "../../etc/passwd", "sqs").is_err());
            let c = store.create("sqs", b"x").await.unwrap();
            assert!(store.share("s3", &c.id, "sns").is_err());
        });
    });
}

#[test]
fn release_list_reset_and_hostile_ids() {
    both("release", |store, persist| {
        rt().block_on(async {
            let a = store.create("s3", b"a").await.unwrap();
            let b = store.create("s3", b"b").await.unwrap();
            let l = store.create("lambda", b"zip").await.unwrap();
            let mut ids = vec![a.id.clone(), b.id.clone()];
            ids.sort();
            assert_eq!(store.list("s3"), ids);
            store.release("s3", &a.id);
            assert_eq!(store.stat("s3", &a.id), None);
            assert_eq!(store.list("s3"), vec![b.id.clone()]);
            // An unfinished writer leaves nothing behind.
            let mut w = store.writer("s3").unwrap();
            w.write(b"partial").await.unwrap();
            drop(w);
            assert_eq!(store.list("s3"), vec![b.id.clone()]);
            for hostile in [
                "../x",
                "b../../../../etc/passwd",
                "",
                "B0000000000000000000000000000000f",
                "/etc/passwd",
            ] {
                assert_eq!(store.stat("s3", hostile), None, "{hostile}");
                assert!(store.read("s3", hostile, 0, 1).await.is_err());
                store.release("s3", hostile);
            }
            assert_eq!(store.stat("../s3", &b.id), None);
            assert!(store.writer("../s3").is_err());
            store.reset(Some("s3")).unwrap();
            assert!(store.list("s3").is_empty());
            assert_eq!(store.list("lambda"), vec![l.id.clone()]);
            store.reset(None).unwrap();
            assert!(store.list("lambda").is_empty());
            if persist {
                // No temp files remain either.
                let left: Vec<_> = std::fs::read_dir(&store.inner.dir)
                    .unwrap()
                    .flatten()
                    .collect();
                assert!(left.is_empty(), "{left:?}");
            }
        });
    });
}

#[test]
fn persistent_blobs_survive_a_reopen_and_temp_files_are_swept() {
    let dir = temp_dir("reopen");
    let info = rt().block_on(async {
        let store = BlobStore::open(BlobConfig::persistent(&dir)).unwrap();
        let info = store.create("s3", &vec![7u8; 200_000]).await.unwrap();
        // A write in progress when the process "dies".
        let mut w = store.writer("s3").unwrap();
        w.write(b"never finished").await.unwrap();
        std::mem::forget(w);
        info
    });
    let store = BlobStore::open(BlobConfig::persistent(&dir)).unwrap();
    assert_eq!(store.stat("s3", &info.id), Some(info.clone()));
    assert_eq!(store.list("s3"), vec![info.id.clone()]);
    let files: Vec<_> = std::fs::read_dir(dir.join("s3"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let _ = std::fs::remove_dir_all(dir);
}

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Streams `mib` MiB in 1 MiB chunks into a persistent blob, then reads it
/// back in 1 MiB ranges; returns the RSS growth in KiB.
pub(crate) async fn stream_and_measure(dir: &Path, mib: u64) -> (u64, BlobInfo, f64) {
    let store = BlobStore::open(BlobConfig::persistent(dir)).unwrap();
    let chunk: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 31 % 256) as u8).collect();
    let before = vm_rss_kib();
    let mut peak = before;
    let start = std::time::Instant::now();
    let mut w = store.writer("s3").unwrap();
    for _ in 0..mib {
        w.write(&chunk).await.unwrap();
        peak = peak.max(vm_rss_kib());
    }
    let info = w.finish().await.unwrap();
    let secs = start.elapsed().as_secs_f64();
    for i in 0..mib {
        let piece = store.read("s3", &info.id, i << 20, 1 << 20).await.unwrap();
        assert_eq!(piece.len(), 1 << 20);
        assert_eq!(piece[..], chunk[..]);
        peak = peak.max(vm_rss_kib());
    }
    (peak.saturating_sub(before), info, mib as f64 / secs)
}

#[test]
fn rss_child() {
    let Ok(dir) = std::env::var("MINISTACK_STATE_RSS_DIR") else {
        return;
    };
    let (growth, info, rate) = rt().block_on(stream_and_measure(Path::new(&dir), 64));
    assert_eq!(info.size, 64 << 20);
    println!("rss-growth-kib {growth} rate-mib-s {rate:.0}");
}

#[test]
fn streamed_blob_keeps_rss_small() {
    // In a child process so that other tests' allocations do not count.
    let dir = temp_dir("rss");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "blobs::tests::rss_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("MINISTACK_STATE_RSS_DIR", &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let at = stdout
        .find("rss-growth-kib")
        .expect("child printed its figure");
    let line = stdout[at..].lines().next().unwrap_or_default();
    let growth: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    println!("64 MiB streamed blob: {line}");
    assert!(
        growth < 24 * 1024,
        "RSS grew by {growth} KiB for a 64 MiB blob"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn acknowledged_blobs_survive_kill_9() {
    let mut rng = Rng::seeded();
    let runs = 20;
    let mut acked = 0;
    for run in 0..runs {
        let dir = temp_dir(&format!("blob-crash-{run}"));
        let acks = run_and_kill("blobs", &dir, 1 + rng.below(4) as usize, rng.below(60));
        let store = BlobStore::open(BlobConfig::persistent(&dir)).unwrap();
        let listed = store.list("s3");
        rt().block_on(async {
            for ack in &acks {
                let mut parts = ack.split(' ').skip(1);
                let (id, md5, size) = (
                    parts.next().unwrap(),
                    parts.next().unwrap(),
                    parts.next().unwrap(),
                );
                let info = store
                    .stat("s3", id)
                    .unwrap_or_else(|| panic!("acknowledged blob {id} lost"));
                assert_eq!(info.md5_hex, md5);
                assert_eq!(info.size.to_string(), size);
                assert!(listed.iter().any(|l| l == id));
            }
            // Everything listed is complete: its bytes match its trailer.
            for id in &listed {
                let info = store.stat("s3", id).expect("listed blobs are complete");
                let bytes = store.read("s3", id, 0, u64::MAX).await.unwrap();
                assert_eq!(crate::checksum::Digests::of(&bytes).md5_hex(), info.md5_hex);
            }
        });
        // No temp file survives the reopen.
        let names: Vec<String> = std::fs::read_dir(dir.join("s3"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into())
            .collect();
        assert!(names.iter().all(|n| is_valid_id(n)), "{names:?}");
        acked += acks.len();
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!("blob crash test: {runs} kills, {acked} acknowledged blobs checked");
}
