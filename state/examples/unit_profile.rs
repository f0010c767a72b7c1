//! A single client running units in a loop, for profilers:
//! `perf record -g target/release/examples/unit_profile`.
use ministack_state::{StateConfig, Stores};

fn main() {
    let stores = Stores::open(StateConfig::in_memory()).unwrap();
    let db = stores.database("p").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let start = std::time::Instant::now();
    rt.block_on(async {
        for i in 0..n {
            let key = |n: u64| format!("k000-{n:08}").into_bytes();
            let mut u = db.begin();
            let _ = u.get("items", &key(i.saturating_sub(1))).unwrap();
            let _ = u.get("items", &key(i.saturating_sub(2))).unwrap();
            let _ = u.get("items", &key(i)).unwrap();
            u.put("items", &key(i), &[7u8; 100]).unwrap();
            u.commit().await.unwrap();
        }
    });
    println!(
        "{:.1} µs/unit",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
