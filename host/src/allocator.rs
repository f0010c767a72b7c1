//! The process's allocator: jemalloc, tuned to stay small at rest.
//!
//! tokio's workers steal each other's tasks, so a request's blocks are
//! often freed on the thread that did not allocate them; glibc's malloc
//! then spends 10–20 % of a small request in its locked slow paths, and
//! jemalloc ~4–5 % (docs/performance.md, "Seventh sitting";
//! docs/decisions.md, "The allocator is jemalloc").

use tikv_jemallocator::Jemalloc;

#[global_allocator]
static GLOBAL: Jemalloc = Jemalloc;

/// Read by jemalloc at its first allocation (`_RJEM_MALLOC_CONF` in the
/// environment adds to it). One arena rather than eight (four per CPU)
/// and a smaller thread cache (blocks up to 8 KiB, a quarter of the
/// slots) keep an idle gateway under 15 MiB: each arena holds its own
/// partly used pages. Each worker's thread cache takes every block a small
/// request allocates without the arena's lock: with a 1 KiB cache, hyper's
/// 8 KiB read buffer and two other blocks a request took the locked path,
/// ~1 k instructions each (docs/performance.md, "Twenty-first sitting").
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8; 50] = b"narenas:1,tcache_max:8192,lg_tcache_nslots_mul:-2\0";

/// Hands the free memory back to the system now rather than after
/// jemalloc's decay time: for the end of the start and of a reset, whose
/// freed buffers would otherwise stay resident while the gateway idles.
/// The calling thread's cache is emptied first, so the pages it kept are
/// free too.
pub fn release_free_memory() {
    mallctl(b"thread.tcache.flush\0");
    // MALLCTL_ARENAS_ALL: every arena.
    mallctl(b"arena.4096.purge\0");
}

/// A jemalloc control that takes and returns nothing.
fn mallctl(name: &[u8]) {
    debug_assert_eq!(name.last(), Some(&0));
    // SAFETY: a void control (no old or new value) named by a
    // NUL-terminated string.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
}
