//! `wasi:random/random.get-random-bytes`, filled in one call.
//!
//! wasmtime-wasi collects the list a byte at a time from a boxed generator
//! (`random_iter().take(len)`), ~30 instructions a byte; the SDK draws 256
//! bytes at a time for its UUIDs (sdk/src/rand.rs), so each draw cost
//! ~8 k. The same thread-local generator wasmtime-wasi uses by default
//! (rand's `ThreadRng`, a CSPRNG seeded from the OS) fills the list at
//! once here. It is linked over wasmtime-wasi's definition; every other
//! WASI function stays wasmtime-wasi's.

use rand::Rng;
use wasmtime::component::Linker;

use super::HostState;

/// The interface as wasmtime-wasi defines it (its `random.wit`); a plugin
/// importing an earlier 0.2 version is linked to it by semver, as to
/// wasmtime-wasi's own.
const INTERFACE: &str = "wasi:random/random@0.2.12";

/// The longest list a plugin may ask for, as wasmtime-wasi's.
const MAX_LEN: u64 = wasmtime_wasi::random::DEFAULT_MAX_SIZE;

/// Replaces `get-random-bytes`; call after wasmtime-wasi's `add_to_linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = define(linker);
    linker.allow_shadowing(false);
    linked
}

/// Defines `get-random-bytes` in [`INTERFACE`].
fn define(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker
        .instance(INTERFACE)?
        .func_wrap("get-random-bytes", |_, (len,): (u64,)| {
            draw(len).map(|b| (b,))
        })
}

/// `len` bytes from the thread's CSPRNG; a trap past [`MAX_LEN`], as
/// wasmtime-wasi's.
fn draw(len: u64) -> wasmtime::Result<Vec<u8>> {
    if len > MAX_LEN {
        wasmtime::bail!("requested len {len} exceeds limit {MAX_LEN}");
    }
    let mut bytes = vec![0; len as usize];
    rand::rng().fill_bytes(&mut bytes);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draw_is_as_long_as_asked_and_never_the_same() {
        assert_eq!(draw(0).unwrap(), Vec::<u8>::new());
        let draws: Vec<Vec<u8>> = (0..64).map(|_| draw(256).unwrap()).collect();
        assert!(draws.iter().all(|d| d.len() == 256));
        let distinct: std::collections::HashSet<&Vec<u8>> = draws.iter().collect();
        assert_eq!(distinct.len(), draws.len());
        // Every byte value turns up across 16 KiB (a missing one: p ≈ 2e-25).
        let mut seen = [false; 256];
        draws
            .iter()
            .flatten()
            .for_each(|&b| seen[usize::from(b)] = true);
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn a_draw_past_the_limit_is_refused() {
        assert!(draw(MAX_LEN + 1).is_err());
    }

    /// The shadowed name is the one wasmtime-wasi links (a version bump
    /// there would otherwise add a second interface, unused).
    #[test]
    fn the_interface_is_the_one_wasmtime_wasi_defines() {
        let engine = wasmtime::Engine::default();
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).unwrap();
        // Without shadowing, defining it again must collide.
        assert!(
            define(&mut linker).is_err(),
            "{INTERFACE} is not wasmtime-wasi's name"
        );
        add_to_linker(&mut linker).unwrap();
    }
}
