//! The backend contract (module `backend`), checked through the traits only:
//! on the in-memory and redb backends as a `dyn Backend`, and through the
//! host's entry points (`Stores` → `Database` → `Unit`) on both of their
//! paths (a built-in backend directly, and a backend given to
//! `Stores::with_backend`). A new backend runs
//! `contract` on itself.

use super::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

type Begin<'a> = &'a dyn Fn() -> Box<dyn BackendUnit>;

fn keys(rows: &[Row]) -> Vec<&[u8]> {
    rows.iter().map(|(k, _)| k.as_slice()).collect()
}

/// Everything a plugin relies on, against a fresh, empty database.
pub(crate) async fn contract(begin: Begin<'_>) {
    // Read your writes; absent tables read empty; delete says whether it existed.
    let mut u = begin();
    assert_eq!(u.get("t", b"a").unwrap(), None);
    u.put("t", b"a", b"1").unwrap();
    assert_eq!(u.get("t", b"a").unwrap(), Some(b"1".to_vec()));
    assert!(u.delete("t", b"a").unwrap());
    assert!(!u.delete("t", b"a").unwrap());
    for k in [
        &b"p\x00b"[..],
        b"p\x00a",
        b"p\x00c",
        b"p\x01z",
        b"q",
        b"p\x00d",
    ] {
        u.put("t", k, k).unwrap();
    }
    u.put("other", b"p\x00a", b"x").unwrap();
    assert!(!u.is_read_only());
    u.commit().await.unwrap();

    // Ordered, limited, reversed, bounded scans; counts; delete-range.
    let mut u = begin();
    assert!(u.is_read_only());
    let all = u
        .scan("t", &KeyRange::prefix(b"p\x00".to_vec()), 100)
        .unwrap();
    assert_eq!(
        keys(&all),
        [&b"p\x00a"[..], b"p\x00b", b"p\x00c", b"p\x00d"]
    );
    assert_eq!(all[0].1, b"p\x00a");
    let two = u
        .scan("t", &KeyRange::prefix(b"p\x00".to_vec()), 2)
        .unwrap();
    assert_eq!(keys(&two), [&b"p\x00a"[..], b"p\x00b"]);
    let reverse = KeyRange {
        reverse: true,
        ..KeyRange::prefix(b"p\x00".to_vec())
    };
    assert_eq!(keys(&u.scan("t", &reverse, 1).unwrap()), [&b"p\x00d"[..]]);
    let window = KeyRange {
        prefix: b"p".to_vec(),
        start: Some(b"p\x00b".to_vec()),
        end: Some(b"p\x00d".to_vec()),
        reverse: false,
    };
    assert_eq!(
        keys(&u.scan("t", &window, 100).unwrap()),
        [&b"p\x00b"[..], b"p\x00c"]
    );
    assert_eq!(u.count("t", &KeyRange::prefix(b"p".to_vec())).unwrap(), 5);
    assert_eq!(u.count("t", &KeyRange::default()).unwrap(), 6);
    assert_eq!(u.count("missing", &KeyRange::default()).unwrap(), 0);
    assert_eq!(u.delete_range("t", &window).unwrap(), 2);
    assert_eq!(
        u.count("t", &KeyRange::prefix(b"p\x00".to_vec())).unwrap(),
        2
    );
    u.commit().await.unwrap();
    let mut u = begin();
    assert_eq!(
        u.count("t", &KeyRange::prefix(b"p\x00".to_vec())).unwrap(),
        2
    );
    assert_eq!(u.count("other", &KeyRange::default()).unwrap(), 1);
    drop(u);

    // A dropped unit writes nothing.
    let mut u = begin();
    u.put("t", b"gone", b"1").unwrap();
    drop(u);
    assert_eq!(begin().get("t", b"gone").unwrap(), None);

    // Read-modify-write races: the second to commit conflicts and writes nothing.
    let mut a = begin();
    let mut b = begin();
    assert_eq!(a.get("t", b"q").unwrap(), Some(b"q".to_vec()));
    assert_eq!(b.get("t", b"q").unwrap(), Some(b"q".to_vec()));
    a.put("t", b"q", b"from a").unwrap();
    b.put("t", b"q", b"from b").unwrap();
    b.put("t", b"also b", b"1").unwrap();
    a.commit().await.unwrap();
    assert!(matches!(b.commit().await, Err(StateError::Conflict)));
    let mut u = begin();
    assert_eq!(u.get("t", b"q").unwrap(), Some(b"from a".to_vec()));
    assert_eq!(u.get("t", b"also b").unwrap(), None);
    drop(u);

    // Absent keys and scanned ranges are reads too (no phantoms)...
    let mut a = begin();
    assert_eq!(a.get("t", b"new").unwrap(), None);
    assert_eq!(a.count("t", &KeyRange::prefix(b"r".to_vec())).unwrap(), 0);
    a.put("t", b"x", b"1").unwrap();
    let mut b = begin();
    b.put("t", b"r1", b"1").unwrap();
    b.commit().await.unwrap();
    assert!(matches!(a.commit().await, Err(StateError::Conflict)));
    // ...and blind writes never conflict.
    let mut a = begin();
    let mut b = begin();
    a.put("t", b"blind", b"a").unwrap();
    b.put("t", b"blind", b"b").unwrap();
    a.commit().await.unwrap();
    b.commit().await.unwrap();
    assert_eq!(begin().get("t", b"blind").unwrap(), Some(b"b".to_vec()));
}

/// Schema versions and reset, on a database.
fn schema_and_reset(db: &dyn BackendDatabase, begin: Begin<'_>) {
    assert_eq!(db.schema_version().unwrap(), None);
    db.set_schema_version(3).unwrap();
    assert_eq!(db.schema_version().unwrap(), Some(3));
    db.reset().unwrap();
    assert_eq!(begin().count("t", &KeyRange::default()).unwrap(), 0);
}

#[test]
fn redb_meets_the_contract_as_a_dyn_backend() {
    rt().block_on(async {
        let backend: Box<dyn Backend> =
            Box::new(RedbStores::open(StateConfig::in_memory()).unwrap());
        let db = backend.database("contract").unwrap();
        let begin = || db.clone().begin_unit();
        contract(&begin).await;
        schema_and_reset(&*db, &begin);
    });
}

#[test]
fn memory_meets_the_contract_as_a_dyn_backend() {
    rt().block_on(async {
        let backend: Box<dyn Backend> = Box::new(MemoryStores::default());
        let db = backend.database("contract").unwrap();
        let begin = || db.clone().begin_unit();
        contract(&begin).await;
        schema_and_reset(&*db, &begin);
    });
}

#[test]
fn redb_meets_the_contract_persistent() {
    rt().block_on(async {
        let dir = tests::temp_dir("contract");
        let backend = RedbStores::open(StateConfig::persistent(&dir)).unwrap();
        let db: Arc<dyn BackendDatabase> = backend.database("contract").unwrap();
        contract(&|| db.clone().begin_unit()).await;
        drop(db);
        drop(backend);
        let _ = std::fs::remove_dir_all(dir);
    });
}

#[test]
fn the_hosts_entry_points_meet_the_contract_on_either_path() {
    rt().block_on(async {
        // The in-memory backend, dispatched statically.
        let stores = Stores::open(StateConfig::in_memory()).unwrap();
        let db = stores.database("direct").unwrap();
        contract(&|| Box::new(db.begin())).await;
        // A backend given to `with_backend`, dispatched through the traits.
        let backend = RedbStores::open(StateConfig::in_memory()).unwrap();
        let stores = Stores::with_backend(Box::new(backend));
        let db = stores.database("boxed").unwrap();
        assert!(Arc::ptr_eq(&db, &stores.database("boxed").unwrap()));
        assert!(stores.database("../escape").is_err());
        contract(&|| Box::new(db.begin())).await;
        db.set_schema_version(2).unwrap();
        assert_eq!(db.schema_version().unwrap(), Some(2));
        stores.reset_all().unwrap();
        assert_eq!(db.begin().count("t", &KeyRange::default()).unwrap(), 0);
    });
}
