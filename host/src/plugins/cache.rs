//! Precompiled native code of plugins, cached on disk so a start with a warm
//! cache costs a file map (~0.1 ms) instead of a compile (~80 ms per plugin).
//!
//! Key: sha256 of the wasm + a hash of the engine's compatibility settings
//! (wasmtime version, target, tunables), so a changed plugin or engine never
//! loads stale code. Only artifacts this gateway wrote are ever loaded.
//!
//! Beside the code, what the plugin's `describe` answered ([`Described`]),
//! found by the wasm file's path, size and mtime: a warm start reads it
//! instead of reading, hashing, mapping and instantiating every plugin
//! (docs/decisions.md, "Plugins load on first use").

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
}

/// Whether a component came from the cache or was compiled now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Cache,
    Compiled,
}

/// What `describe` answered for one wasm (by its digest), plus what the
/// start-time checks need of the component: the capabilities it imports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Described {
    /// sha256 of the wasm: names its precompiled code.
    pub digest: String,
    pub name: String,
    pub version: String,
    pub schema_version: u32,
    pub implemented: Vec<String>,
    pub raw_routes: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    /// Capability interfaces (`ministack:plugin/<cap>`) the component imports.
    pub imports: Vec<String>,
    /// Kept in a file of its own, as the plugin gave it: no JSON string
    /// to unescape at start.
    #[serde(skip)]
    pub model_json: String,
}

/// Bump when [`Described`] or what the host derives from it changes.
const DESCRIBED_FORMAT: u32 = 2;

impl CompileCache {
    pub fn new(engine: &Engine, dir: PathBuf) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Self {
            dir,
            engine_key: format!("{:016x}", h.finish()),
        }
    }

    pub fn digest(wasm: &[u8]) -> String {
        hex::encode(Sha256::digest(wasm))
    }

    fn artifact(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// The record of what the wasm at `path` described, when the file is
    /// still the one described (same size and mtime) and its code is cached.
    pub fn described(&self, path: &Path) -> Option<Described> {
        let record = self.record_path(path)?;
        let text = std::fs::read(&record).ok()?;
        let mut described: Described = serde_json::from_slice(&text)
            .inspect_err(|e| tracing::debug!("ignoring {}: {e}", record.display()))
            .ok()?;
        if !self.artifact(&described.digest).exists() {
            return None;
        }
        described.model_json = std::fs::read_to_string(self.model_path(&described.digest)).ok()?;
        Some(described)
    }

    /// `describe/<wasm digest>.model.json`: the model a wasm describes.
    fn model_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("describe")
            .join(format!("{digest}.model.json"))
    }

    /// Stores what the wasm at `path` described (best effort: a start
    /// without it describes the plugin again).
    pub fn remember(&self, path: &Path, described: &Described) {
        let Some(record) = self.record_path(path) else {
            return;
        };
        // The model first: a record is only found with its model beside it.
        let model = self.model_path(&described.digest);
        let written = write_atomically(&model, described.model_json.as_bytes())
            .and_then(|()| serde_json::to_vec(described).map_err(std::io::Error::other))
            .and_then(|bytes| write_atomically(&record, &bytes));
        if let Err(e) = written {
            tracing::warn!(
                "could not cache the description at {}: {e}",
                record.display()
            );
        }
    }

    /// `describe/<hash of path, size, mtime, engine, host>.json`: a changed
    /// file, engine or gateway never finds an old record.
    fn record_path(&self, path: &Path) -> Option<PathBuf> {
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        let absolute = std::path::absolute(path).ok()?;
        let mut h = Sha256::new();
        h.update(absolute.as_os_str().as_encoded_bytes());
        h.update(meta.len().to_le_bytes());
        h.update(mtime.as_nanos().to_le_bytes());
        h.update(self.engine_key.as_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(DESCRIBED_FORMAT.to_le_bytes());
        let key = hex::encode(&h.finalize()[..16]);
        Some(self.dir.join("describe").join(format!("{key}.json")))
    }

    /// The cached code of the wasm whose digest is `digest`, without
    /// reading the wasm; `None` when it is not cached.
    pub fn load_digest(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.artifact(digest);
        if !path.exists() {
            return None;
        }
        // SAFETY: as in `load`.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!("ignoring unusable cache entry {}: {e}", path.display());
                None
            }
        }
    }

    /// The component for `wasm`, from the cache when it holds it.
    pub fn load(&self, engine: &Engine, wasm: &[u8]) -> anyhow::Result<(Component, Source)> {
        let path = self.artifact(&Self::digest(wasm));
        if path.exists() {
            // SAFETY: the file was produced by `precompile_component` of an
            // engine with the same compatibility hash (it is in the name),
            // in a folder only this gateway writes.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(c) => return Ok((c, Source::Cache)),
                Err(e) => tracing::warn!("ignoring unusable cache entry {}: {e}", path.display()),
            }
        }
        let bytes = engine.precompile_component(wasm)?;
        if let Err(e) = write_atomically(&path, &bytes) {
            tracing::warn!("could not cache compiled plugin at {}: {e}", path.display());
        }
        // SAFETY: these bytes were just produced by this engine.
        let component = unsafe { Component::deserialize(engine, &bytes)? };
        Ok((component, Source::Compiled))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
