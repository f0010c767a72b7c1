//! Precompiled native code of plugins, cached on disk so a start with a warm
//! cache costs a file map (~0.1 ms) instead of a compile (~80 ms per plugin).
//!
//! Key: sha256 of the wasm + a hash of the engine's compatibility settings
//! (wasmtime version, target, tunables), so a changed plugin or engine never
//! loads stale code. Only artifacts this gateway wrote are ever loaded.
//!
//! Beside the code, what the plugin's `describe` answered ([`Described`]),
//! found by the wasm file's path, size and mtime and by this gateway's
//! binary and engine settings: a warm start reads it instead of reading,
//! hashing, mapping and instantiating every plugin, and builds no engine
//! (docs/decisions.md, "Plugins load on first use").

use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

pub struct CompileCache {
    dir: PathBuf,
    /// This gateway (its binary) and its engine settings: what the
    /// description records are kept under, known without an engine.
    gateway_key: String,
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
    /// The engine key ([`CompileCache::engine_key`]) its code was cached under.
    pub engine_key: String,
    /// Kept in a file of its own, as the plugin gave it: no JSON string
    /// to unescape at start.
    #[serde(skip)]
    pub model_json: String,
    /// The cached file `model_json` was read from, kept open: the model's
    /// shapes are read from it again on first use ([`Described::shape_loader`]).
    /// Files here are only ever replaced whole (written aside, renamed), so
    /// the open file keeps this text even if the cache is cleared.
    #[serde(skip)]
    pub model_file: Option<Arc<File>>,
}

impl Described {
    /// Reads the model's text again from its cached file, when there is one.
    pub fn shape_loader(&self) -> Option<ministack_protocol::ShapeLoader> {
        let file = self.model_file.clone()?;
        let len = self.model_json.len();
        Some(Box::new(move || {
            let mut text = vec![0; len];
            file.read_exact_at(&mut text, 0)
                .and_then(|()| String::from_utf8(text).map_err(std::io::Error::other))
                .inspect_err(|e| tracing::error!("reading a cached service model again: {e}"))
        }))
    }
}

/// Bump when [`Described`] or what the host derives from it changes.
const DESCRIBED_FORMAT: u32 = 3;

impl CompileCache {
    /// `engine_settings`: whatever the engine is built from besides the
    /// binary (a changed setting never finds the records of another).
    pub fn new(dir: PathBuf, engine_settings: impl Hash) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine_settings.hash(&mut h);
        // The binary itself (size, mtime): a rebuilt gateway, maybe with
        // another wasmtime, describes its plugins again.
        if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
            meta.len().hash(&mut h);
            meta.modified().ok().hash(&mut h);
        }
        Self {
            dir,
            gateway_key: format!("{:016x}", h.finish()),
        }
    }

    /// The key of an engine's compatibility settings, in the name of the
    /// code it compiled.
    pub fn engine_key(engine: &Engine) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        format!("{:016x}", h.finish())
    }

    pub fn digest(wasm: &[u8]) -> String {
        hex::encode(Sha256::digest(wasm))
    }

    fn artifact(&self, digest: &str, engine_key: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{engine_key}.cwasm"))
    }

    /// The record of what the wasm at `path` described, when the file is
    /// still the one described (same size and mtime) and its code is cached.
    pub fn described(&self, path: &Path) -> Option<Described> {
        let record = self.record_path(path)?;
        let text = std::fs::read(&record).ok()?;
        let mut described: Described = serde_json::from_slice(&text)
            .inspect_err(|e| tracing::debug!("ignoring {}: {e}", record.display()))
            .ok()?;
        if !self
            .artifact(&described.digest, &described.engine_key)
            .exists()
        {
            return None;
        }
        let mut file = File::open(self.model_path(&described.digest)).ok()?;
        file.read_to_string(&mut described.model_json).ok()?;
        described.model_file = Some(Arc::new(file));
        Some(described)
    }

    /// `describe/<wasm digest>.model.json`: the model a wasm describes.
    fn model_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("describe")
            .join(format!("{digest}.model.json"))
    }

    /// `describe/<wasm digest>.resource-types.json`: what the wasm answered
    /// to `ministack:resource-types`, a function of its code alone.
    fn resource_types_path(&self, digest: &str) -> PathBuf {
        self.dir
            .join("describe")
            .join(format!("{digest}.resource-types.json"))
    }

    /// The resource types the wasm whose digest is `digest` listed, when a
    /// gateway asked it before (`GET /_ministack/plugins` then need not load it).
    pub fn resource_types(&self, digest: &str) -> Option<Vec<serde_json::Value>> {
        let text = std::fs::read(self.resource_types_path(digest)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Keeps what [`resource_types`](Self::resource_types) reads (best effort).
    pub fn remember_resource_types(&self, digest: &str, types: &[serde_json::Value]) {
        let path = self.resource_types_path(digest);
        let written = serde_json::to_vec(types)
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_atomically(&path, &bytes));
        if let Err(e) = written {
            tracing::warn!("could not cache resource types at {}: {e}", path.display());
        }
    }

    /// Stores what the wasm at `path` described (best effort: a start
    /// without it describes the plugin again); the model file written, open,
    /// when it holds `described.model_json`.
    pub fn remember(&self, path: &Path, described: &Described) -> Option<Arc<File>> {
        let record = self.record_path(path)?;
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
        let file = File::open(&model).ok()?;
        let same = file.metadata().ok()?.len() == described.model_json.len() as u64;
        same.then(|| Arc::new(file))
    }

    /// `describe/<hash of path, size, mtime, gateway>.json`: a changed
    /// file or gateway never finds an old record.
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
        h.update(self.gateway_key.as_bytes());
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(DESCRIBED_FORMAT.to_le_bytes());
        let key = hex::encode(&h.finalize()[..16]);
        Some(self.dir.join("describe").join(format!("{key}.json")))
    }

    /// The cached code of the wasm whose digest is `digest`, without
    /// reading the wasm; `None` when it is not cached.
    pub fn load_digest(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.artifact(digest, &Self::engine_key(engine));
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
        let path = self.artifact(&Self::digest(wasm), &Self::engine_key(engine));
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
