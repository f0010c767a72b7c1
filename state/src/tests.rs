//! Tests of stores and units. The crash tests re-run this test binary as a
//! child (`crash_child`, selected by an environment variable) and SIGKILL it.

use super::*;
use std::io::BufRead;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use std::time::Instant;

pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "ministack-state-test-{name}-{}-{nanos}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small xorshift generator: tests stay dependency-free and reproducible per seed.
pub(crate) struct Rng(pub u64);
impl Rng {
    pub(crate) fn seeded() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos());
        Self((nanos as u64) | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn memory() -> Arc<Database> {
    Stores::open(StateConfig::in_memory())
        .unwrap()
        .database("test")
        .unwrap()
}

fn keys(rows: &[(Vec<u8>, Vec<u8>)]) -> Vec<&[u8]> {
    rows.iter().map(|(k, _)| k.as_slice()).collect()
}

fn range(prefix: &[u8], start: Option<&[u8]>, end: Option<&[u8]>, reverse: bool) -> KeyRange {
    KeyRange {
        prefix: prefix.to_vec(),
        start: start.map(<[u8]>::to_vec),
        end: end.map(<[u8]>::to_vec),
        reverse,
    }
}

async fn seed(db: &Arc<Database>, table: &str, ks: &[&[u8]]) {
    let mut u = db.begin();
    for k in ks {
        u.put(table, k, &[k.len() as u8]).unwrap();
    }
    u.commit().await.unwrap();
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn read_your_writes_in_get_scan_and_count() {
    rt().block_on(async {
        let db = memory();
        seed(&db, "t", &[b"a", b"b", b"c"]).await;
        let mut u = db.begin();
        assert!(u.is_read_only());
        u.put("t", b"bb", b"new").unwrap();
        assert!(u.delete("t", b"b").unwrap());
        assert!(!u.delete("t", b"zz").unwrap());
        u.put("t", b"a", b"changed").unwrap();
        assert!(!u.is_read_only());
        assert_eq!(u.get("t", b"bb").unwrap(), Some(b"new".to_vec()));
        assert_eq!(u.get("t", b"b").unwrap(), None);
        assert_eq!(u.get("t", b"a").unwrap(), Some(b"changed".to_vec()));
        let all = u.scan("t", &KeyRange::default(), 100).unwrap();
        assert_eq!(keys(&all), vec![&b"a"[..], b"bb", b"c"]);
        assert_eq!(all[0].1, b"changed");
        let rev = u.scan("t", &range(b"", None, None, true), 100).unwrap();
        assert_eq!(keys(&rev), vec![&b"c"[..], b"bb", b"a"]);
        assert_eq!(u.count("t", &KeyRange::default()).unwrap(), 3);
        assert_eq!(u.count("t", &KeyRange::prefix("b")).unwrap(), 1);
        // Another unit sees none of it until commit.
        let mut other = db.begin();
        assert_eq!(other.get("t", b"b").unwrap(), Some(vec![1]));
        assert_eq!(other.count("t", &KeyRange::default()).unwrap(), 3);
        u.commit().await.unwrap();
        let mut after = db.begin();
        assert_eq!(
            keys(&after.scan("t", &KeyRange::default(), 10).unwrap()),
            vec![&b"a"[..], b"bb", b"c"]
        );
        // A missing table reads as empty.
        assert_eq!(after.get("nope", b"a").unwrap(), None);
        assert_eq!(after.count("nope", &KeyRange::default()).unwrap(), 0);
    });
}

#[test]
fn scan_order_bounds_reverse_and_limit() {
    rt().block_on(async {
        let db = memory();
        let ks: &[&[u8]] = &[
            b"a",
            b"ab",
            b"abc",
            b"abd",
            b"ac",
            b"b",
            b"\xff",
            b"\xff\xff",
            b"\xff\xff\x01",
        ];
        seed(&db, "t", ks).await;
        let mut u = db.begin();
        let scan = |u: &mut Unit, r: KeyRange, limit| -> Vec<Vec<u8>> {
            u.scan("t", &r, limit)
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        let v = |xs: &[&[u8]]| xs.iter().map(|x| x.to_vec()).collect::<Vec<_>>();
        assert_eq!(scan(&mut u, KeyRange::default(), 100), v(ks));
        assert_eq!(
            scan(&mut u, KeyRange::prefix("ab"), 100),
            v(&[b"ab", b"abc", b"abd"])
        );
        assert_eq!(
            scan(&mut u, range(b"ab", None, None, true), 100),
            v(&[b"abd", b"abc", b"ab"])
        );
        assert_eq!(
            scan(&mut u, range(b"ab", Some(b"abc"), None, false), 100),
            v(&[b"abc", b"abd"])
        );
        assert_eq!(
            scan(&mut u, range(b"ab", None, Some(b"abd"), false), 100),
            v(&[b"ab", b"abc"])
        );
        assert_eq!(
            scan(&mut u, range(b"ab", Some(b"abc"), Some(b"abd"), true), 100),
            v(&[b"abc"])
        );
        assert_eq!(
            scan(&mut u, range(b"", Some(b"ac"), None, false), 2),
            v(&[b"ac", b"b"])
        );
        assert_eq!(
            scan(&mut u, range(b"", None, Some(b"b"), true), 2),
            v(&[b"ac", b"abd"])
        );
        assert_eq!(
            scan(&mut u, KeyRange::prefix(b"\xff".to_vec()), 100),
            v(&[b"\xff", b"\xff\xff", b"\xff\xff\x01"])
        );
        assert_eq!(
            scan(&mut u, KeyRange::prefix(b"\xff\xff".to_vec()), 100),
            v(&[b"\xff\xff", b"\xff\xff\x01"])
        );
        // Bounds outside the prefix: empty.
        assert!(scan(&mut u, range(b"a", Some(b"b"), None, false), 100).is_empty());
        assert!(scan(&mut u, range(b"b", None, Some(b"a"), false), 100).is_empty());
        assert!(scan(&mut u, KeyRange::default(), 0).is_empty());
        // The unit's own writes interleave in order, both directions, with limits.
        u.put("t", b"aa", b"x").unwrap();
        u.delete("t", b"abc").unwrap();
        assert_eq!(
            scan(&mut u, KeyRange::prefix("a"), 3),
            v(&[b"a", b"aa", b"ab"])
        );
        assert_eq!(
            scan(&mut u, range(b"a", None, None, true), 3),
            v(&[b"ac", b"abd", b"ab"])
        );
        assert_eq!(
            u.count("t", &range(b"a", Some(b"aa"), Some(b"ac"), false))
                .unwrap(),
            3
        );
    });
}

#[test]
fn delete_range_removes_exactly_the_range() {
    rt().block_on(async {
        let db = memory();
        seed(&db, "t", &[b"q/1", b"q/2", b"q/3", b"r/1"]).await;
        let mut u = db.begin();
        u.put("t", b"q/4", b"x").unwrap();
        assert_eq!(
            u.delete_range("t", &range(b"q/", Some(b"q/2"), None, false))
                .unwrap(),
            3
        );
        assert_eq!(
            keys(&u.scan("t", &KeyRange::default(), 10).unwrap()),
            vec![&b"q/1"[..], b"r/1"]
        );
        u.commit().await.unwrap();
        let mut after = db.begin();
        assert_eq!(
            keys(&after.scan("t", &KeyRange::default(), 10).unwrap()),
            vec![&b"q/1"[..], b"r/1"]
        );
        assert_eq!(
            after.delete_range("t", &KeyRange::prefix("zzz")).unwrap(),
            0
        );
    });
}

#[test]
fn rollback_drop_and_conflict_leave_no_trace() {
    rt().block_on(async {
        let db = memory();
        seed(&db, "t", &[b"k"]).await;
        let mut u = db.begin();
        u.put("t", b"k", b"rolled back").unwrap();
        u.put("t2", b"x", b"y").unwrap();
        u.rollback();
        let mut u = db.begin();
        u.put("t", b"k", b"dropped").unwrap();
        drop(u);
        // Two units read k; the first to commit wins, the second writes nothing.
        let mut a = db.begin();
        let mut b = db.begin();
        assert_eq!(a.get("t", b"k").unwrap(), Some(vec![1]));
        assert_eq!(b.get("t", b"k").unwrap(), Some(vec![1]));
        a.put("t", b"k", b"a").unwrap();
        b.put("t", b"k", b"b").unwrap();
        b.put("t", b"other", b"b").unwrap();
        a.commit().await.unwrap();
        assert!(matches!(b.commit().await, Err(StateError::Conflict)));
        let mut r = db.begin();
        assert_eq!(r.get("t", b"k").unwrap(), Some(b"a".to_vec()));
        assert_eq!(r.get("t", b"other").unwrap(), None);
        assert_eq!(r.count("t2", &KeyRange::default()).unwrap(), 0);
    });
}

#[test]
fn absent_keys_and_ranges_are_validated() {
    rt().block_on(async {
        let db = memory();
        // A read of an absent key conflicts with its creation (no phantom).
        let mut a = db.begin();
        assert_eq!(a.get("t", b"new").unwrap(), None);
        a.put("t", b"flag", b"1").unwrap();
        seed(&db, "t", &[b"new"]).await;
        assert!(matches!(a.commit().await, Err(StateError::Conflict)));
        // A scan conflicts with an insert inside its range, not outside.
        let mut inside = db.begin();
        assert_eq!(inside.count("t", &KeyRange::prefix("q/")).unwrap(), 0);
        inside.put("t", b"n", b"1").unwrap();
        let mut outside = db.begin();
        assert_eq!(outside.count("t", &KeyRange::prefix("r/")).unwrap(), 0);
        outside.put("t", b"m", b"1").unwrap();
        seed(&db, "t", &[b"q/1"]).await;
        assert!(matches!(inside.commit().await, Err(StateError::Conflict)));
        outside.commit().await.unwrap();
        // A limited scan read only up to its last row.
        seed(&db, "t", &[b"s/1", b"s/2"]).await;
        let mut limited = db.begin();
        assert_eq!(
            limited.scan("t", &KeyRange::prefix("s/"), 1).unwrap().len(),
            1
        );
        limited.put("t", b"o", b"1").unwrap();
        seed(&db, "t", &[b"s/3"]).await;
        limited.commit().await.unwrap();
        // Blind writes never conflict.
        let mut blind = db.begin();
        blind.put("t", b"new", b"blind").unwrap();
        seed(&db, "t", &[b"new"]).await;
        blind.commit().await.unwrap();
    });
}

#[test]
fn validation_index_keeps_only_what_live_units_need() {
    rt().block_on(async {
        let db = memory();
        for i in 0..5_000u32 {
            let mut u = db.begin();
            let _ = u.get("t", b"k").unwrap();
            u.put("t", &i.to_be_bytes(), b"v").unwrap();
            u.commit().await.unwrap();
        }
        let indexed = || db.indexed();
        assert!(indexed() <= 1, "{} entries kept", indexed());
        // A unit that read long ago keeps what it may conflict with...
        let mut old = db.begin();
        assert_eq!(old.get("t", b"watched").unwrap(), None);
        for i in 0..100u32 {
            let mut u = db.begin();
            let _ = u.get("t", b"k").unwrap();
            u.put("t", &(10_000 + i).to_be_bytes(), b"v").unwrap();
            u.commit().await.unwrap();
        }
        assert!(indexed() >= 100);
        seed(&db, "t", &[b"watched"]).await;
        old.put("t", b"x", b"y").unwrap();
        assert!(matches!(old.commit().await, Err(StateError::Conflict)));
        // ...and once it is gone, so are they.
        seed(&db, "t", &[b"z"]).await;
        assert!(indexed() <= 1, "{} entries kept", indexed());
    });
}

#[test]
fn read_only_units_commit_trivially_and_see_a_snapshot() {
    rt().block_on(async {
        let db = memory();
        seed(&db, "t", &[b"a"]).await;
        let mut r = db.begin();
        assert_eq!(r.count("t", &KeyRange::default()).unwrap(), 1);
        seed(&db, "t", &[b"b"]).await;
        // Still the snapshot taken at its first read.
        assert_eq!(r.count("t", &KeyRange::default()).unwrap(), 1);
        assert!(r.is_read_only());
        r.commit().await.unwrap();
    });
}

/// `n` concurrent read-modify-write increments of one key; returns units/s.
fn increments(db: &Arc<Database>, n: usize) -> (f64, u64) {
    let conflicts = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    rt().block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..n {
            let db = db.clone();
            let conflicts = conflicts.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let mut u = db.begin();
                    let v = u
                        .get("counters", b"hot")
                        .unwrap()
                        .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()));
                    u.put("counters", b"hot", &(v + 1).to_be_bytes()).unwrap();
                    match u.commit().await {
                        Ok(()) => break,
                        Err(StateError::Conflict) => {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut u = db.begin();
    let v = u
        .get("counters", b"hot")
        .unwrap()
        .map(|v| u64::from_be_bytes(v.try_into().unwrap()));
    assert_eq!(v, Some(n as u64));
    (n as f64 / elapsed, conflicts.load(Ordering::Relaxed))
}

#[test]
fn thousand_concurrent_increments_in_memory() {
    let (rate, conflicts) = increments(&memory(), 1000);
    println!("1000 increments in memory: {rate:.0} units/s, {conflicts} conflicts");
}

#[test]
fn thousand_concurrent_increments_in_a_file_group_commit() {
    let dir = temp_dir("inc-group");
    let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
    let (rate, conflicts) = increments(&stores.database("test").unwrap(), 1000);
    println!("1000 increments, file, group commit: {rate:.0} units/s, {conflicts} conflicts");
    drop(stores);
    // Every increment was durable: reopen and read.
    let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
    let mut u = stores.database("test").unwrap().begin();
    assert_eq!(
        u.get("counters", b"hot").unwrap(),
        Some(1000u64.to_be_bytes().to_vec())
    );
    drop(u);
    drop(stores);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn thousand_concurrent_increments_in_a_file_relaxed() {
    let dir = temp_dir("inc-relaxed");
    let config = StateConfig {
        durability: Durability::Relaxed { window_ms: 20 },
        ..StateConfig::persistent(&dir)
    };
    let stores = Stores::open(config.clone()).unwrap();
    let (rate, conflicts) = increments(&stores.database("test").unwrap(), 1000);
    println!("1000 increments, file, relaxed: {rate:.0} units/s, {conflicts} conflicts");
    drop(stores);
    let stores = Stores::open(config).unwrap();
    let mut u = stores.database("test").unwrap().begin();
    assert_eq!(
        u.get("counters", b"hot").unwrap(),
        Some(1000u64.to_be_bytes().to_vec())
    );
    drop(u);
    drop(stores);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn group_commit_sees_pending_writes_and_read_only_waits_for_them() {
    let dir = temp_dir("pending");
    let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
    counting_units_are_serializable(&stores.database("test").unwrap());
    drop(stores);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn batched_memory_commits_are_serializable() {
    counting_units_are_serializable(&memory());
}

/// 64 concurrent units each count the rows and add one holding the count.
fn counting_units_are_serializable(db: &Arc<Database>) {
    rt().block_on(async {
        // Many writers at once: later units read earlier, not yet durable, ones.
        let mut tasks = Vec::new();
        for i in 0..64u8 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let mut u = db.begin();
                    let n = u.count("t", &KeyRange::default()).unwrap();
                    u.put("t", &[i], &n.to_be_bytes()).unwrap();
                    let mut r = db.begin();
                    let seen = r.count("t", &KeyRange::default()).unwrap();
                    match u.commit().await {
                        Ok(()) => {
                            r.commit().await.unwrap();
                            return seen;
                        }
                        Err(StateError::Conflict) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // Serializable: each unit counted the units before it, so the values are 0..64.
        let mut u = db.begin();
        let mut values: Vec<u64> = u
            .scan("t", &KeyRange::default(), 100)
            .unwrap()
            .into_iter()
            .map(|(_, v)| u64::from_be_bytes(v.try_into().unwrap()))
            .collect();
        values.sort();
        assert_eq!(values, (0..64).collect::<Vec<u64>>());
    });
}

#[test]
fn conflicting_units_in_one_batch_the_second_fails() {
    let dir = temp_dir("batch");
    let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
    let db = stores.database("test").unwrap();
    rt().block_on(async {
        seed(&db, "t", &[b"k"]).await;
        for round in 0..20u8 {
            let mut a = db.begin();
            let mut b = db.begin();
            let va = a.get("t", b"k").unwrap().unwrap();
            let vb = b.get("t", b"k").unwrap().unwrap();
            a.put("t", b"k", &[va[0].wrapping_add(1)]).unwrap();
            b.put("t", b"k", &[vb[0].wrapping_add(1)]).unwrap();
            b.put("t", &[b'x', round], b"b").unwrap();
            // Both reach the committer together; validation follows apply order.
            let (ra, rb) = tokio::join!(a.commit(), b.commit());
            assert!(ra.is_ok());
            assert!(matches!(rb, Err(StateError::Conflict)));
            let mut r = db.begin();
            assert_eq!(r.get("t", b"k").unwrap(), Some(vec![round + 2]));
            assert_eq!(r.get("t", &[b'x', round]).unwrap(), None);
        }
    });
    drop((db, stores));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn persistence_schema_version_and_reset() {
    let dir = temp_dir("persist");
    rt().block_on(async {
        let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
        let db = stores.database("sqs").unwrap();
        assert_eq!(db.schema_version().unwrap(), None);
        db.set_schema_version(3).unwrap();
        seed(&db, "queues", &[b"q1", b"q2"]).await;
        let other = stores.database("sns").unwrap();
        seed(&other, "topics", &[b"t1"]).await;
        assert!(stores.database("../evil").is_err());
        assert!(stores.database("").is_err());
        drop((db, other, stores));

        let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
        let db = stores.database("sqs").unwrap();
        assert_eq!(db.schema_version().unwrap(), Some(3));
        assert_eq!(db.begin().count("queues", &KeyRange::default()).unwrap(), 2);
        // A unit that read before the reset conflicts; data is gone after it.
        let mut stale = db.begin();
        assert_eq!(stale.count("queues", &KeyRange::default()).unwrap(), 2);
        stale.put("queues", b"q3", b"x").unwrap();
        db.reset().unwrap();
        assert!(matches!(stale.commit().await, Err(StateError::Conflict)));
        assert_eq!(db.begin().count("queues", &KeyRange::default()).unwrap(), 0);
        assert_eq!(db.schema_version().unwrap(), Some(3));
        seed(&db, "queues", &[b"q9"]).await;
        // reset_all: open databases are emptied, files of others removed.
        stores.reset_all().unwrap();
        assert_eq!(db.begin().count("queues", &KeyRange::default()).unwrap(), 0);
        assert!(!dir.join("sns.redb").exists());
        assert!(dir.join("sqs.redb").exists());
        drop((db, stores));
    });
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn config_from_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    let c = StateConfig::from_lookup(env(&[])).unwrap();
    assert!(!c.persist);
    assert_eq!(c.durability, Durability::Group);
    let c = StateConfig::from_lookup(env(&[
        ("PERSIST_STATE", "1"),
        ("STATE_DIR", "/x"),
        ("MINISTACK_DURABILITY", "relaxed"),
        ("MINISTACK_DURABILITY_WINDOW_MS", "250"),
    ]))
    .unwrap();
    assert!(c.persist);
    assert_eq!(c.state_dir, PathBuf::from("/x"));
    assert_eq!(c.durability, Durability::Relaxed { window_ms: 250 });
    assert!(StateConfig::from_lookup(env(&[("MINISTACK_DURABILITY", "fast")])).is_err());
    assert!(StateConfig::from_lookup(env(&[("MINISTACK_DURABILITY_WINDOW_MS", "0")])).is_err());
}

#[test]
fn units_are_send() {
    fn send<T: Send>(_: &T) {}
    let db = memory();
    let u = db.begin();
    send(&u);
    send(&u.commit());
}

// ---- crash safety -------------------------------------------------------

const CHILD_ENV: &str = "MINISTACK_STATE_CRASH_CHILD";
const CHILD_DIR_ENV: &str = "MINISTACK_STATE_CRASH_DIR";

/// Runs `mode` in a child process, SIGKILLs it after `after_ms`, and returns
/// the lines it printed.
pub(crate) fn run_and_kill(
    mode: &str,
    dir: &Path,
    after_acks: usize,
    extra_ms: u64,
) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "tests::crash_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, mode)
        .env(CHILD_DIR_ENV, dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // libtest may print "test ... " before the first line of output.
            if let Some(at) = line.find("ack ") {
                lines.push(line[at..].to_string());
                if lines.len() == after_acks {
                    let _ = tx.send(());
                }
            }
        }
        lines
    });
    // Wait for some acknowledgements, then kill at a random moment after.
    let _ = rx.recv_timeout(Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(extra_ms));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the child ran to the end instead of being killed"
    );
    reader.join().unwrap()
}

#[test]
fn crash_child() {
    let (Ok(mode), Ok(dir)) = (std::env::var(CHILD_ENV), std::env::var(CHILD_DIR_ENV)) else {
        return;
    };
    let dir = PathBuf::from(dir);
    if mode == "blobs" {
        crate::blobs::crash_child(&dir);
        return;
    }
    let durability = if mode == "relaxed" {
        Durability::Relaxed {
            window_ms: RELAXED_CHILD_WINDOW_MS,
        }
    } else {
        Durability::Group
    };
    let stores = Stores::open(StateConfig {
        durability,
        ..StateConfig::persistent(&dir)
    })
    .unwrap();
    let db = stores.database("crash").unwrap();
    rt().block_on(async {
        // 8 writers, each its own sequence of keys; a bigger value now and then.
        let mut tasks = Vec::new();
        for w in 0..8u8 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                // Carry on after the rows an earlier (killed) run left.
                let start = db
                    .begin()
                    .count("rows", &KeyRange::prefix(vec![w]))
                    .unwrap() as u32;
                for i in start.. {
                    let key = [&[w][..], &i.to_be_bytes()].concat();
                    let value = vec![w; if i % 50 == 0 { 20_000 } else { 16 }];
                    loop {
                        let mut u = db.begin();
                        // A read-modify-write of a shared counter too.
                        let n = u
                            .get("meta", b"count")
                            .unwrap()
                            .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()));
                        u.put("meta", b"count", &(n + 1).to_be_bytes()).unwrap();
                        u.put("rows", &key, &value).unwrap();
                        match u.commit().await {
                            Ok(()) => break,
                            Err(StateError::Conflict) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                    println!("ack {w} {i}");
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}

fn check_after_crash(dir: &Path, acks: &[String], relaxed: bool) {
    // The file opens clean (redb repairs an interrupted commit) and passes
    // an integrity check.
    {
        let mut raw = redb::Database::builder()
            .create(dir.join("crash.redb"))
            .unwrap();
        assert!(raw.check_integrity().unwrap());
    }
    let stores = Stores::open(StateConfig::persistent(dir)).unwrap();
    let db = stores.database("crash").unwrap();
    let mut u = db.begin();
    let rows = u.scan("rows", &KeyRange::default(), u32::MAX).unwrap();
    let count = u
        .get("meta", b"count")
        .unwrap()
        .map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()));
    // Atomic units: the counter equals the number of rows.
    assert_eq!(count, rows.len() as u64);
    for (k, v) in &rows {
        assert_eq!(
            v.len(),
            if u32::from_be_bytes(k[1..5].try_into().unwrap()) % 50 == 0 {
                20_000
            } else {
                16
            }
        );
        assert!(v.iter().all(|b| *b == k[0]));
    }
    let present: std::collections::HashSet<(u8, u32)> = rows
        .iter()
        .map(|(k, _)| (k[0], u32::from_be_bytes(k[1..5].try_into().unwrap())))
        .collect();
    // Per writer, the rows form a prefix (commits land in order).
    for w in 0..8u8 {
        let n = present.iter().filter(|(x, _)| *x == w).count() as u32;
        assert!(
            (0..n).all(|i| present.contains(&(w, i))),
            "writer {w} has a gap"
        );
    }
    if !relaxed {
        for ack in acks {
            let mut parts = ack.split(' ').skip(1);
            let w: u8 = parts.next().unwrap().parse().unwrap();
            let i: u32 = parts.next().unwrap().parse().unwrap();
            assert!(present.contains(&(w, i)), "acknowledged {ack} lost");
        }
    }
}

#[test]
fn acknowledged_commits_survive_kill_9() {
    let mut rng = Rng::seeded();
    let runs = 20;
    let mut total_acks = 0;
    for run in 0..runs {
        let dir = temp_dir(&format!("crash-{run}"));
        // Several kills on the same file: each run reopens what the last left.
        for _ in 0..2 {
            let acks = run_and_kill("group", &dir, 1 + rng.below(50) as usize, rng.below(40));
            total_acks += acks.len();
            check_after_crash(&dir, &acks, false);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "crash test: {} kills, {total_acks} acknowledged units checked",
        runs * 2
    );
}

/// Relaxed mode loses at most the last window: units acknowledged well
/// before the kill (window + generous slack for a loaded machine) are there.
#[test]
fn relaxed_mode_loses_at_most_the_window() {
    let slack = Duration::from_millis(1000);
    for run in 0..3 {
        let dir = temp_dir(&format!("relaxed-window-{run}"));
        let acks = run_and_kill_timed("relaxed", &dir, Duration::from_millis(1500));
        let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
        let mut u = stores.database("crash").unwrap().begin();
        let mut old = 0;
        for (ack, age) in &acks {
            if *age < slack + Duration::from_millis(RELAXED_CHILD_WINDOW_MS) {
                continue;
            }
            old += 1;
            let mut parts = ack.split(' ').skip(1);
            let w: u8 = parts.next().unwrap().parse().unwrap();
            let i: u32 = parts.next().unwrap().parse().unwrap();
            let key = [&[w][..], &i.to_be_bytes()].concat();
            assert!(
                u.get("rows", &key).unwrap().is_some(),
                "{ack} acknowledged {age:?} before the kill was lost"
            );
        }
        assert!(old > 0, "no acknowledgement old enough to check");
        drop(u);
        drop(stores);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Like [`run_and_kill`], killing `after` the first acknowledgement; each
/// line comes with how long before the kill the parent received it.
fn run_and_kill_timed(mode: &str, dir: &Path, after: Duration) -> Vec<(String, Duration)> {
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "tests::crash_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, mode)
        .env(CHILD_DIR_ENV, dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first, started) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(at) = line.find("ack ") {
                lines.push((line[at..].to_string(), Instant::now()));
                if lines.len() == 1 {
                    let _ = first.send(());
                }
            }
        }
        lines
    });
    // Count from the first acknowledgement, not from a slow start.
    let _ = started.recv_timeout(Duration::from_secs(30));
    std::thread::sleep(after);
    child.kill().unwrap();
    let killed = Instant::now();
    let _ = child.wait();
    reader
        .join()
        .unwrap()
        .into_iter()
        .map(|(l, t)| (l, killed.saturating_duration_since(t)))
        .collect()
}

const RELAXED_CHILD_WINDOW_MS: u64 = 5;

#[test]
fn relaxed_mode_reopens_clean_after_kill_9() {
    let mut rng = Rng::seeded();
    for run in 0..5 {
        let dir = temp_dir(&format!("crash-relaxed-{run}"));
        let acks = run_and_kill("relaxed", &dir, 1 + rng.below(200) as usize, rng.below(40));
        check_after_crash(&dir, &acks, true);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn read_only_units_commit_no_write_transaction() {
    let dir = temp_dir("read-only");
    rt().block_on(async {
        for config in [StateConfig::in_memory(), StateConfig::persistent(&dir)] {
            let stores = Stores::open(config).unwrap();
            let db = stores.database("ro").unwrap();
            seed(&db, "t", &[b"a", b"b"]).await;
            let before = db.write_transactions().unwrap();
            assert!(before >= 1);
            for _ in 0..100 {
                let mut u = db.begin();
                assert_eq!(u.get("t", b"a").unwrap(), Some(vec![1]));
                assert_eq!(u.scan("t", &KeyRange::default(), 10).unwrap().len(), 2);
                assert!(u.is_read_only());
                u.commit().await.unwrap();
            }
            assert_eq!(db.write_transactions(), Some(before), "reads wrote");
            seed(&db, "t", &[b"c"]).await;
            assert_eq!(db.write_transactions(), Some(before + 1));
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unused_in_memory_redb_holds_no_redb_until_written() {
    rt().block_on(async {
        let stores = RedbStores::open(StateConfig::in_memory()).unwrap();
        let redb = stores.database("test").unwrap();
        let db = Arc::new(Database(DatabaseImpl::Redb(redb.clone())));
        let unopened = || !redb.created();
        assert_eq!(db.schema_version().unwrap(), None);
        let mut u = db.begin();
        assert_eq!(u.get("t", b"k").unwrap(), None);
        assert_eq!(u.count("t", &KeyRange::default()).unwrap(), 0);
        u.commit().await.unwrap();
        db.reset().unwrap();
        assert!(unopened(), "reading or resetting created the database");
        let mut u = db.begin();
        u.put("t", b"k", b"v").unwrap();
        u.commit().await.unwrap();
        assert!(!unopened());
        assert_eq!(db.begin().get("t", b"k").unwrap(), Some(b"v".to_vec()));
        db.set_schema_version(3).unwrap();
        assert_eq!(db.schema_version().unwrap(), Some(3));
    });
}

#[test]
fn memory_keeps_old_versions_only_while_a_snapshot_reads_them() {
    rt().block_on(async {
        let db = memory();
        seed(&db, "t", &[b"a"]).await;
        let mut old = db.begin();
        assert_eq!(old.get("t", b"a").unwrap(), Some(vec![1]));
        for i in 0..100u8 {
            let mut u = db.begin();
            u.put("t", b"a", &[i, i]).unwrap();
            u.put("t", &[b'k', i], b"v").unwrap();
            u.commit().await.unwrap();
            let mut u = db.begin();
            assert!(u.delete("t", &[b'k', i]).unwrap());
            u.commit().await.unwrap();
        }
        // The old unit still reads its snapshot: `a` as it was, no `k`s.
        assert_eq!(old.get("t", b"a").unwrap(), Some(vec![1]));
        let rows = old.scan("t", &KeyRange::default(), 1000).unwrap();
        assert_eq!(keys(&rows), vec![b"a".as_slice()]);
        let (held, queued) = db.memory().held();
        assert!(
            held >= 100 && queued >= 100,
            "{held} versions, {queued} queued"
        );
        // The newest state meanwhile.
        let mut now = db.begin();
        assert_eq!(now.get("t", b"a").unwrap(), Some(vec![99, 99]));
        assert_eq!(now.count("t", &KeyRange::default()).unwrap(), 1);
        drop((old, now));
        // Once nobody reads them, the next commit drops them: one version
        // per live key, no deletes kept.
        seed(&db, "t", &[b"z"]).await;
        assert_eq!(db.memory().held(), (0, 0));
        let mut u = db.begin();
        let rows = u.scan("t", &KeyRange::default(), 1000).unwrap();
        assert_eq!(keys(&rows), vec![b"a".as_slice(), b"z"]);
    });
}

#[test]
fn memory_reset_keeps_live_snapshots_and_fails_their_reads() {
    rt().block_on(async {
        let db = memory();
        seed(&db, "t", &[b"a", b"b"]).await;
        let mut reader = db.begin();
        assert_eq!(reader.count("t", &KeyRange::default()).unwrap(), 2);
        let mut blind = db.begin();
        blind.put("t", b"c", b"c").unwrap();
        db.reset().unwrap();
        // Its snapshot is the tables it began on...
        assert_eq!(reader.get("t", b"a").unwrap(), Some(vec![1]));
        // ...but anything it read is stale: its writes may not land.
        reader.put("t", b"x", b"x").unwrap();
        assert!(matches!(reader.commit().await, Err(StateError::Conflict)));
        // A blind write lands in the emptied tables.
        blind.commit().await.unwrap();
        let mut u = db.begin();
        let rows = u.scan("t", &KeyRange::default(), 10).unwrap();
        assert_eq!(keys(&rows), vec![b"c".as_slice()]);
    });
}

/// Many tasks move amounts between accounts (read two balances, yield,
/// write two), some by deleting an account and putting it back empty, and
/// readers sum every balance with a scan meanwhile: serializable units keep
/// the total, and every scan sees the total of one moment.
fn transfers_keep_the_total(db: &Arc<Database>) {
    const ACCOUNTS: u64 = 16;
    const TOTAL: u64 = ACCOUNTS * 100;
    fn key(i: u64) -> Vec<u8> {
        format!("acct-{i:02}").into_bytes()
    }
    fn balance(v: Vec<u8>) -> u64 {
        u64::from_be_bytes(v.try_into().unwrap())
    }
    let conflicts = Arc::new(AtomicU64::new(0));
    rt().block_on(async {
        let mut setup = db.begin();
        for i in 0..ACCOUNTS {
            setup.put("bank", &key(i), &100u64.to_be_bytes()).unwrap();
        }
        setup.commit().await.unwrap();
        let mut tasks = Vec::new();
        for t in 0..32u64 {
            let db = db.clone();
            let conflicts = conflicts.clone();
            tasks.push(tokio::spawn(async move {
                let mut rng = Rng(0x9e37_79b9 ^ ((t + 1) * 0x1000_0001));
                let mut done = 0;
                while done < 50 {
                    let mut u = db.begin();
                    if t % 8 == 0 {
                        // A reader: one scan sees the whole total...
                        let rows = u.scan("bank", &KeyRange::prefix(b"acct-"), 100).unwrap();
                        let sum: u64 = rows.into_iter().map(|(_, v)| balance(v)).sum();
                        assert_eq!(sum, TOTAL, "a scan saw half a transfer");
                        // ...and so do reads one by one, as others commit.
                        let mut sum = 0;
                        for i in 0..ACCOUNTS {
                            sum += balance(u.get("bank", &key(i)).unwrap().unwrap());
                            tokio::task::yield_now().await;
                        }
                        assert_eq!(sum, TOTAL, "a snapshot moved between reads");
                        u.commit().await.unwrap();
                        done += 1;
                        continue;
                    }
                    let (a, b) = (rng.below(ACCOUNTS), rng.below(ACCOUNTS));
                    if a == b {
                        continue;
                    }
                    let va = balance(u.get("bank", &key(a)).unwrap().unwrap());
                    tokio::task::yield_now().await;
                    let vb = balance(u.get("bank", &key(b)).unwrap().unwrap());
                    tokio::task::yield_now().await;
                    if rng.below(4) == 0 {
                        // Everything from a to b: a deleted, then put back empty.
                        assert!(u.delete("bank", &key(a)).unwrap());
                        u.put("bank", &key(b), &(vb + va).to_be_bytes()).unwrap();
                        u.put("bank", &key(a), &0u64.to_be_bytes()).unwrap();
                    } else {
                        let amount = rng.below(va + 1);
                        u.put("bank", &key(a), &(va - amount).to_be_bytes())
                            .unwrap();
                        u.put("bank", &key(b), &(vb + amount).to_be_bytes())
                            .unwrap();
                    }
                    match u.commit().await {
                        Ok(()) => done += 1,
                        Err(StateError::Conflict) => {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut u = db.begin();
        let rows = u.scan("bank", &KeyRange::prefix(b"acct-"), 100).unwrap();
        assert_eq!(rows.len() as u64, ACCOUNTS);
        assert_eq!(
            rows.into_iter().map(|(_, v)| balance(v)).sum::<u64>(),
            TOTAL
        );
    });
    // The tasks did overlap (else this proves nothing).
    assert!(conflicts.load(Ordering::Relaxed) > 0);
}

#[test]
fn concurrent_transfers_keep_the_total_in_memory() {
    let db = memory();
    transfers_keep_the_total(&db);
    // Nothing is left for snapshots that are gone.
    rt().block_on(seed(&db, "t", &[b"end"]));
    assert_eq!(db.memory().held(), (0, 0));
}

#[test]
fn concurrent_transfers_keep_the_total_in_a_file() {
    let dir = temp_dir("transfers");
    let stores = Stores::open(StateConfig::persistent(&dir)).unwrap();
    transfers_keep_the_total(&stores.database("test").unwrap());
    drop(stores);
    let _ = std::fs::remove_dir_all(dir);
}
