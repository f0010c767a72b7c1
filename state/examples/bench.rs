//! Per-unit cost of the state store, digest throughput, and a streamed blob.
//!
//! ```text
//! cargo run -p ministack-state --release --example bench            # units + digests
//! cargo run -p ministack-state --release --example bench -- blob 1024   # 1 GiB streamed blob, RSS
//! cargo run -p ministack-state --release --example bench -- memory      # in-memory units only (quick)
//! ```
//!
//! A unit here is the typical request: 3 gets, 1 put, commit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ministack_state::blobs::{BlobConfig, BlobStore};
use ministack_state::checksum::Digests;
use ministack_state::{Database, Durability, StateConfig, StateError, Stores};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "ministack-state-bench-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn unit(db: &Arc<Database>, client: u64, i: u64) -> Result<(), StateError> {
    loop {
        let mut u = db.begin();
        let key = |n: u64| format!("k{client:03}-{n:08}").into_bytes();
        let _ = u.get("items", &key(i.saturating_sub(1)))?;
        let _ = u.get("items", &key(i.saturating_sub(2)))?;
        let _ = u.get("items", &key(i))?;
        u.put("items", &key(i), &[7u8; 100])?;
        match u.commit().await {
            Err(StateError::Conflict) => continue,
            other => return other,
        }
    }
}

/// CPU time (user + system) of this process so far, in µs. On a machine
/// shared with other work this is steadier than wall time.
fn cpu_us() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and
    // stime, fields 14 and 15 of the file, are 11 and 12 here. USER_HZ = 100.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) * 10_000.0
}

struct Measured {
    /// Wall time / units.
    wall_us: f64,
    /// Process CPU time / units.
    cpu_us: f64,
    per_s: f64,
}

/// `clients` concurrent clients doing `per_client` units each.
fn run(db: &Arc<Database>, clients: u64, per_client: u64) -> Measured {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let cpu = cpu_us();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for c in 0..clients {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per_client {
                    unit(&db, c, i).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let units = (clients * per_client) as f64;
    Measured {
        wall_us: elapsed * 1e6 / units,
        cpu_us: (cpu_us() - cpu) / units,
        per_s: units / elapsed,
    }
}

fn print(name: &str, clients: u64, m: &Measured) {
    println!(
        "{name:<40} {clients:>3} clients {:>8.1} µs/unit {:>6.1} CPU µs/unit {:>8.0} units/s",
        m.wall_us, m.cpu_us, m.per_s
    );
}

fn report(name: &str, db: &Arc<Database>, clients: u64, per_client: u64) {
    // Warm up, then measure.
    run(db, clients, per_client / 10 + 1);
    print(name, clients, &run(db, clients, per_client));
}

/// The same work straight on redb (one read txn, 3 gets, one write txn with
/// `Durability::None`): the floor under our overhead.
fn raw_redb() {
    use redb::{ReadableDatabase, TableDefinition};
    let db = redb::Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .unwrap();
    let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
    let n = 100_000u64;
    let start = Instant::now();
    let cpu = cpu_us();
    for i in 0..n {
        let key = |n: u64| format!("k000-{n:08}").into_bytes();
        {
            let r = db.begin_read().unwrap();
            if let Ok(t) = r.open_table(def) {
                for k in [i.saturating_sub(1), i.saturating_sub(2), i] {
                    let _ = t.get(key(k).as_slice()).unwrap();
                }
            }
        }
        let mut w = db.begin_write().unwrap();
        w.set_durability(redb::Durability::None).unwrap();
        {
            let mut t = w.open_table(def).unwrap();
            t.insert(key(i).as_slice(), [7u8; 100].as_slice()).unwrap();
        }
        w.commit().unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let m = Measured {
        wall_us: elapsed * 1e6 / n as f64,
        cpu_us: (cpu_us() - cpu) / n as f64,
        per_s: n as f64 / elapsed,
    };
    print("raw redb, memory, same work (floor)", 1, &m);
}

fn units() {
    raw_redb();
    let stores = Stores::open(StateConfig::in_memory()).unwrap();
    report(
        "memory (3 get + 1 put + commit)",
        &stores.database("m1").unwrap(),
        1,
        100_000,
    );
    report("memory", &stores.database("m32").unwrap(), 32, 3_000);

    let dir = temp_dir("group");
    let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
    report(
        "file, group commit (fsync per batch)",
        &stores.database("g1").unwrap(),
        1,
        1_000,
    );
    report(
        "file, group commit",
        &stores.database("g32").unwrap(),
        32,
        300,
    );
    report(
        "file, group commit",
        &stores.database("g256").unwrap(),
        256,
        60,
    );
    drop(stores);

    let dir2 = temp_dir("relaxed");
    let config = StateConfig {
        durability: Durability::Relaxed { window_ms: 100 },
        ..StateConfig::persistent(&dir2)
    };
    let stores = Stores::open(config).unwrap();
    report(
        "file, relaxed (window 100 ms)",
        &stores.database("r1").unwrap(),
        1,
        50_000,
    );
    report("file, relaxed", &stores.database("r32").unwrap(), 32, 2_000);
    drop(stores);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(dir2);
}

fn digests() {
    let data: Vec<u8> = (0..64u32 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let start = Instant::now();
    let mut d = Digests::new();
    for chunk in data.chunks(1 << 20) {
        d.update(chunk);
    }
    let _ = d.finish();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "all digests (MD5 CRC32 CRC32C SHA1 SHA256 CRC64NVME): {:.0} MiB/s",
        64.0 / secs
    );
}

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn blob(mib: u64) {
    let dir = temp_dir("blob");
    let store = BlobStore::open(BlobConfig::persistent(&dir)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let chunk: Vec<u8> = (0..1u32 << 20).map(|i| (i * 31 % 256) as u8).collect();
        let before = vm_rss_kib();
        let mut peak = before;
        let start = Instant::now();
        let mut w = store.writer("s3").unwrap();
        for _ in 0..mib {
            w.write(&chunk).await.unwrap();
            peak = peak.max(vm_rss_kib());
        }
        let info = w.finish().await.unwrap();
        let write = start.elapsed();
        let start = Instant::now();
        for i in 0..mib {
            let piece = store.read("s3", &info.id, i << 20, 1 << 20).await.unwrap();
            assert_eq!(piece.len(), 1 << 20);
            peak = peak.max(vm_rss_kib());
        }
        let read = start.elapsed();
        println!(
            "streamed blob of {mib} MiB in 1 MiB chunks: write {:.0} MiB/s, read {:.0} MiB/s, RSS {} KiB -> peak {} KiB (+{} KiB), md5 {}",
            mib as f64 / write.as_secs_f64(),
            mib as f64 / read.as_secs_f64().max(1e-9),
            before,
            peak,
            peak - before,
            info.md5_hex
        );
    });
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
    std::thread::sleep(Duration::from_millis(1));
}

/// The in-memory rows only: the floor and the unit machinery, no disk.
fn memory_units() {
    raw_redb();
    let stores = Stores::open(StateConfig::in_memory()).unwrap();
    report(
        "memory (3 get + 1 put + commit)",
        &stores.database("m1").unwrap(),
        1,
        100_000,
    );
    report("memory", &stores.database("m32").unwrap(), 32, 3_000);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("blob") => blob(args.get(1).and_then(|v| v.parse().ok()).unwrap_or(1024)),
        Some("digests") => digests(),
        Some("memory") => memory_units(),
        _ => {
            units();
            digests();
        }
    }
}
