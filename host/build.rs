//! Links the gateway as a position-dependent executable on Linux: the
//! dynamic loader then applies no relocations to it at start (a PIE build
//! has ~48,000, whose table it reads whole and whose targets it copies on
//! write), ~1.5 MiB less resident at idle (docs/performance.md, "Idle
//! memory"; docs/decisions.md). Plugin code is unaffected: wasmtime maps it
//! itself.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
