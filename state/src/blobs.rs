//! Large payloads held by the host (S3 objects, Lambda zips, request bodies).
//!
//! In memory by default; with S3_PERSIST=1 files under S3_DATA_DIR, written
//! atomically (temp file + fsync + rename). Digests are computed while the
//! bytes stream in. A blob created by a unit that rolls back is deleted; a
//! release takes effect when the unit commits.
//!
//! On disk a blob is `<dir>/<plugin>/<id>`: the bytes followed by a trailer
//! (the digests, the size, a magic number ending in which checksums were
//! computed), so a blob is one file and one
//! rename. Files being written are `<dir>/<plugin>/.tmp-<id>`; leftovers of a
//! crash are removed when the store opens. Ids are generated here
//! (`b` + 32 hex digits); any other id is refused, so an id can never name a
//! path outside the store.

use crate::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use bytes::Bytes;

use crate::StateError;
use crate::checksum::{Algorithms, Checksums, DIGEST_BYTES, Digest, Digests};

/// A blob's identity, size and digests (see the WIT `blob-ref`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub id: String,
    pub size: u64,
    pub md5_hex: String,
    /// ("CRC32", base64), ("CRC32C", ...), ("SHA1", ...), ("SHA256", ...), ("CRC64NVME", ...)
    pub checksums: Vec<(String, String)>,
}

impl BlobInfo {
    fn new(id: String, digest: &Digest) -> Self {
        Self {
            id,
            size: digest.size,
            md5_hex: digest.md5_hex(),
            checksums: digest.checksums(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct BlobConfig {
    /// S3_PERSIST=1: files under `dir`.
    pub persist: bool,
    pub dir: PathBuf,
}

pub const ENV_S3_PERSIST: &str = "S3_PERSIST";
pub const ENV_S3_DATA_DIR: &str = "S3_DATA_DIR";
pub const DEFAULT_DATA_DIR: &str = "/tmp/ministack-data/s3";

impl BlobConfig {
    pub fn in_memory() -> Self {
        Self {
            persist: false,
            dir: PathBuf::from(DEFAULT_DATA_DIR),
        }
    }

    pub fn persistent(dir: impl Into<PathBuf>) -> Self {
        Self {
            persist: true,
            dir: dir.into(),
        }
    }

    /// S3_PERSIST (1/true/yes) and S3_DATA_DIR.
    pub fn from_env() -> Self {
        Self {
            persist: std::env::var(ENV_S3_PERSIST).is_ok_and(|v| crate::truthy(&v)),
            dir: PathBuf::from(
                std::env::var(ENV_S3_DATA_DIR).unwrap_or_else(|_| DEFAULT_DATA_DIR.into()),
            ),
        }
    }
}

/// Magic number closing every blob file: `MSBLOB01` (all checksums, the
/// first format) or `MSBLOB` + `m` + the [`Algorithms`] bits.
const MAGIC: &[u8; 6] = b"MSBLOB";
const MAGIC_ALL: &[u8; 2] = b"01";
const TRAILER: u64 = (DIGEST_BYTES + MAGIC.len() + 2) as u64;
/// Chunks at least this big are hashed and written off the async workers.
const OFFLOAD: usize = 64 * 1024;
/// A blob that reaches this size is hashed and stored by two blocking
/// threads fed through channels (MD5 on one; the checksums and the copy or
/// file write on the other), so receiving, MD5 and the rest overlap.
const PIPE_AT: u64 = 256 * 1024;
/// Chunks queued per pipeline thread before the writer waits (frames are
/// 16–400 KiB off the wire; `concat` writes 1 MiB pieces: memory stays flat).
const PIPE_DEPTH: usize = 8;
/// The most memory reserved up front for an in-memory blob from a size hint.
const MAX_RESERVE: u64 = 256 << 20;
/// Piece size when copying between blobs.
const COPY_PIECE: u64 = 1 << 20;
const TMP_PREFIX: &str = ".tmp-";

struct MemBlob {
    bytes: Bytes,
    info: BlobInfo,
}

struct Inner {
    persist: bool,
    dir: PathBuf,
    /// plugin -> id -> blob (in memory only).
    memory: Mutex<HashMap<String, HashMap<String, Arc<MemBlob>>>>,
}

pub struct BlobStore {
    inner: Arc<Inner>,
}

enum Sink {
    Memory(Vec<u8>),
    File(FileSink),
}

/// A blob file being written; its temp file is removed when dropped (after
/// the rename of a finished blob there is none left to remove).
struct FileSink {
    file: File,
    tmp: PathBuf,
    path: PathBuf,
}

impl Drop for FileSink {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl Sink {
    fn append(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Memory(buf) => {
                buf.extend_from_slice(data);
                Ok(())
            }
            Sink::File(f) => f.file.write_all(data),
        }
    }
}

/// The two threads of a large blob (see [`PIPE_AT`]).
struct Pipe {
    md5_tx: tokio::sync::mpsc::Sender<Bytes>,
    rest_tx: tokio::sync::mpsc::Sender<Bytes>,
    md5: tokio::task::JoinHandle<[u8; 16]>,
    rest: tokio::task::JoinHandle<(Checksums, Sink, std::io::Result<()>)>,
}

// One per upload, moved rarely: boxing the digests would add an allocation
// to every small upload for nothing.
#[allow(clippy::large_enum_variant)]
enum State {
    Inline(Digests, Sink),
    Piped(Pipe),
    /// A write failed (or one is in progress off-thread).
    Failed,
}

/// Writes a new blob chunk by chunk, computing digests on the way.
pub struct BlobWriter {
    inner: Arc<Inner>,
    plugin: String,
    id: String,
    state: State,
}

fn storage(e: impl std::fmt::Display) -> StateError {
    StateError::Storage(e.to_string())
}

/// `b` followed by 32 lower-case hex digits.
pub fn is_valid_id(id: &str) -> bool {
    id.len() == 33
        && id.starts_with('b')
        && id[1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    // `process::id` is a getpid syscall each time (glibc keeps no copy):
    // one per S3 write, for a number that never changes.
    static PID: LazyLock<u32> = LazyLock::new(std::process::id);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("b{nanos:016x}{:08x}{:08x}", *PID, n as u32)
}

fn check_id(id: &str) -> Result<(), StateError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(StateError::Storage(format!("invalid blob id {id:?}")))
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Runs blocking work off the async workers when a runtime is there.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StateError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(f).await.map_err(storage),
        Err(_) => Ok(f()),
    }
}

impl Inner {
    fn plugin_dir(&self, plugin: &str) -> PathBuf {
        self.dir.join(plugin)
    }

    fn path(&self, plugin: &str, id: &str) -> PathBuf {
        self.plugin_dir(plugin).join(id)
    }
}

/// Reads a blob file's trailer.
fn read_trailer(file: &File) -> Option<Digest> {
    let len = file.metadata().ok()?.len();
    if len < TRAILER {
        return None;
    }
    let mut trailer = [0u8; TRAILER as usize];
    file.read_exact_at(&mut trailer, len - TRAILER).ok()?;
    let (magic, algorithms) = trailer[DIGEST_BYTES..].split_at(MAGIC.len());
    if magic != MAGIC {
        return None;
    }
    let algorithms = match algorithms {
        [b'm', bits] => Algorithms::from_bits(*bits),
        a if a == MAGIC_ALL => Algorithms::ALL,
        _ => return None,
    };
    let digest = Digest::from_bytes(trailer[..DIGEST_BYTES].try_into().ok()?, algorithms);
    (digest.size == len - TRAILER).then_some(digest)
}

impl BlobStore {
    pub fn open(config: BlobConfig) -> Result<Self, crate::StateError> {
        if config.persist {
            std::fs::create_dir_all(&config.dir)
                .map_err(|e| StateError::Storage(format!("{}: {e}", config.dir.display())))?;
            // Temp files of writes a crash interrupted.
            for plugin in std::fs::read_dir(&config.dir).map_err(storage)?.flatten() {
                if !plugin.path().is_dir() {
                    continue;
                }
                for entry in std::fs::read_dir(plugin.path()).map_err(storage)?.flatten() {
                    if entry.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                persist: config.persist,
                dir: config.dir,
                memory: Mutex::new(HashMap::default()),
            }),
        })
    }
}

impl BlobStore {
    /// Starts a new blob in `plugin`'s namespace, with every checksum.
    pub fn writer(&self, plugin: &str) -> Result<BlobWriter, crate::StateError> {
        self.writer_with(plugin, Algorithms::ALL, None)
    }

    /// Starts a new blob with MD5 and the checksums of `algorithms`;
    /// `size_hint` (a declared length) sizes an in-memory blob up front.
    pub fn writer_with(
        &self,
        plugin: &str,
        algorithms: Algorithms,
        size_hint: Option<u64>,
    ) -> Result<BlobWriter, crate::StateError> {
        crate::check_name(plugin)?;
        let id = new_id();
        let sink = if self.inner.persist {
            let dir = self.inner.plugin_dir(plugin);
            std::fs::create_dir_all(&dir).map_err(storage)?;
            let tmp = dir.join(format!("{TMP_PREFIX}{id}"));
            let file = File::create(&tmp).map_err(storage)?;
            Sink::File(FileSink {
                file,
                tmp,
                path: dir.join(&id),
            })
        } else {
            Sink::Memory(Vec::with_capacity(
                size_hint.unwrap_or(0).min(MAX_RESERVE) as usize
            ))
        };
        Ok(BlobWriter {
            inner: self.inner.clone(),
            plugin: plugin.to_string(),
            id,
            state: State::Inline(Digests::with(algorithms), sink),
        })
    }

    /// Creates a blob from bytes in one go.
    pub async fn create(&self, plugin: &str, bytes: &[u8]) -> Result<BlobInfo, crate::StateError> {
        let mut w = self.writer(plugin)?;
        w.write(bytes).await?;
        w.finish().await
    }

    pub fn stat(&self, plugin: &str, id: &str) -> Option<BlobInfo> {
        if !is_valid_id(id) || crate::check_name(plugin).is_err() {
            return None;
        }
        if self.inner.persist {
            let file = File::open(self.inner.path(plugin, id)).ok()?;
            read_trailer(&file).map(|d| BlobInfo::new(id.to_string(), &d))
        } else {
            let memory = crate::lock(&self.inner.memory);
            memory.get(plugin)?.get(id).map(|b| b.info.clone())
        }
    }

    /// `[start, end)` of an in-memory blob, at once and without a copy; None
    /// for a blob on disk, a missing one or a range past its end.
    pub fn slice_in_memory(&self, plugin: &str, id: &str, start: u64, end: u64) -> Option<Bytes> {
        if self.inner.persist || start > end {
            return None;
        }
        let memory = crate::lock(&self.inner.memory);
        let blob = memory.get(plugin)?.get(id)?;
        (end <= blob.bytes.len() as u64).then(|| blob.bytes.slice(start as usize..end as usize))
    }

    /// Up to `len` bytes from `offset` (fewer at the end; empty past the end).
    pub async fn read(
        &self,
        plugin: &str,
        id: &str,
        offset: u64,
        len: u64,
    ) -> Result<bytes::Bytes, crate::StateError> {
        check_id(id)?;
        crate::check_name(plugin)?;
        let missing = || StateError::Storage(format!("no such blob {id}"));
        if !self.inner.persist {
            let memory = crate::lock(&self.inner.memory);
            let blob = memory
                .get(plugin)
                .and_then(|m| m.get(id))
                .ok_or_else(missing)?;
            let size = blob.bytes.len() as u64;
            let start = offset.min(size);
            let end = start.saturating_add(len).min(size);
            return Ok(blob.bytes.slice(start as usize..end as usize));
        }
        let path = self.inner.path(plugin, id);
        let id = id.to_string();
        blocking(move || {
            let file =
                File::open(&path).map_err(|_| StateError::Storage(format!("no such blob {id}")))?;
            // Final files always carry a trailer (they are renamed complete).
            let size = file
                .metadata()
                .map_err(storage)?
                .len()
                .saturating_sub(TRAILER);
            let start = offset.min(size);
            let end = start.saturating_add(len).min(size);
            let mut buf = vec![0u8; (end - start) as usize];
            file.read_exact_at(&mut buf, start).map_err(storage)?;
            Ok(Bytes::from(buf))
        })
        .await?
    }

    /// A new blob from slices (id, offset, length) of existing ones.
    pub async fn concat(
        &self,
        plugin: &str,
        parts: &[(String, u64, u64)],
    ) -> Result<BlobInfo, crate::StateError> {
        for (id, offset, len) in parts {
            let info = self
                .stat(plugin, id)
                .ok_or_else(|| StateError::Storage(format!("no such blob {id}")))?;
            if offset.checked_add(*len).is_none_or(|end| end > info.size) {
                return Err(StateError::Storage(format!(
                    "range {offset}+{len} is outside blob {id} of {} bytes",
                    info.size
                )));
            }
        }
        let mut w = self.writer(plugin)?;
        for (id, offset, len) in parts {
            let mut at = *offset;
            let end = offset + len;
            while at < end {
                let piece = (end - at).min(COPY_PIECE);
                let bytes = self.read(plugin, id, at, piece).await?;
                if bytes.len() as u64 != piece {
                    return Err(StateError::Storage(format!(
                        "blob {id} changed while being copied"
                    )));
                }
                w.write_bytes(bytes).await?;
                at += piece;
            }
        }
        w.finish().await
    }

    /// The same bytes under a new id in another plugin's namespace, without
    /// copying them (an `Arc` in memory, a hard link on disk): a blob handed
    /// across `services.call`. Each side releases its own id.
    pub fn share(&self, from: &str, id: &str, to: &str) -> Result<BlobInfo, crate::StateError> {
        check_id(id)?;
        crate::check_name(from)?;
        crate::check_name(to)?;
        let missing = || StateError::Storage(format!("no such blob {id}"));
        let new = new_id();
        if self.inner.persist {
            let dir = self.inner.plugin_dir(to);
            std::fs::create_dir_all(&dir).map_err(storage)?;
            std::fs::hard_link(self.inner.path(from, id), dir.join(&new)).map_err(|_| missing())?;
            return self.stat(to, &new).ok_or_else(missing);
        }
        let mut memory = crate::lock(&self.inner.memory);
        let blob = memory
            .get(from)
            .and_then(|m| m.get(id))
            .ok_or_else(missing)?;
        let mut info = blob.info.clone();
        info.id = new.clone();
        let shared = Arc::new(MemBlob {
            bytes: blob.bytes.clone(),
            info: info.clone(),
        });
        memory
            .entry(to.to_string())
            .or_default()
            .insert(new, shared);
        Ok(info)
    }

    /// Deletes the blob's bytes now (the host defers this to commit).
    pub fn release(&self, plugin: &str, id: &str) {
        if !is_valid_id(id) || crate::check_name(plugin).is_err() {
            return;
        }
        if self.inner.persist {
            let _ = std::fs::remove_file(self.inner.path(plugin, id));
        } else if let Some(m) = crate::lock(&self.inner.memory).get_mut(plugin) {
            m.remove(id);
        }
    }

    /// Ids of every blob of `plugin` (to sweep orphans after a crash).
    pub fn list(&self, plugin: &str) -> Vec<String> {
        if crate::check_name(plugin).is_err() {
            return Vec::new();
        }
        let mut ids: Vec<String> = if self.inner.persist {
            match std::fs::read_dir(self.inner.plugin_dir(plugin)) {
                Ok(entries) => entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|name| is_valid_id(name))
                    .collect(),
                Err(_) => Vec::new(),
            }
        } else {
            crate::lock(&self.inner.memory)
                .get(plugin)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        ids.sort();
        ids
    }

    /// Deletes every blob of `plugin`, or of all plugins when None.
    pub fn reset(&self, plugin: Option<&str>) -> Result<(), crate::StateError> {
        if let Some(p) = plugin {
            crate::check_name(p)?;
        }
        if !self.inner.persist {
            let mut memory = crate::lock(&self.inner.memory);
            match plugin {
                Some(p) => {
                    memory.remove(p);
                }
                None => memory.clear(),
            }
            return Ok(());
        }
        let dirs: Vec<PathBuf> = match plugin {
            Some(p) => vec![self.inner.plugin_dir(p)],
            None => match std::fs::read_dir(&self.inner.dir) {
                Ok(entries) => entries
                    .flatten()
                    .filter(|e| {
                        e.path().is_dir()
                            && crate::check_name(&e.file_name().to_string_lossy()).is_ok()
                    })
                    .map(|e| e.path())
                    .collect(),
                Err(_) => Vec::new(),
            },
        };
        for dir in dirs {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StateError::Storage(format!("{}: {e}", dir.display()))),
            }
        }
        Ok(())
    }
}

impl BlobWriter {
    /// The id the blob will have.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), crate::StateError> {
        if matches!(self.state, State::Piped(_)) {
            return self.write_bytes(Bytes::copy_from_slice(chunk)).await;
        }
        self.write_inline(chunk).await
    }

    /// [`Self::write`] without copying the chunk when it goes to the
    /// pipeline threads.
    pub async fn write_bytes(&mut self, chunk: Bytes) -> Result<(), crate::StateError> {
        if let State::Inline(digests, _) = &self.state
            && digests.len() + chunk.len() as u64 >= PIPE_AT
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            self.start_pipe(&handle);
        }
        let State::Piped(pipe) = &self.state else {
            return self.write_inline(&chunk).await;
        };
        let sent = match pipe.md5_tx.send(chunk.clone()).await {
            Ok(()) => pipe.rest_tx.send(chunk).await.is_ok(),
            Err(_) => false,
        };
        if !sent {
            // A pipeline thread is gone (it panicked); finish reports why.
            return Err(storage("blob writer thread failed"));
        }
        Ok(())
    }

    fn start_pipe(&mut self, handle: &tokio::runtime::Handle) {
        let State::Inline(digests, sink) = std::mem::replace(&mut self.state, State::Failed) else {
            return;
        };
        let (mut md5, mut rest) = digests.split();
        let mut sink = sink;
        let (md5_tx, mut md5_rx) = tokio::sync::mpsc::channel::<Bytes>(PIPE_DEPTH);
        let (rest_tx, mut rest_rx) = tokio::sync::mpsc::channel::<Bytes>(PIPE_DEPTH);
        let md5 = handle.spawn_blocking(move || {
            use crate::checksum::Md5Update as _;
            while let Some(b) = md5_rx.blocking_recv() {
                md5.update(&b);
            }
            crate::checksum::md5_finish(md5)
        });
        let rest = handle.spawn_blocking(move || {
            let mut result = Ok(());
            while let Some(b) = rest_rx.blocking_recv() {
                // After a failed write the rest is drained, not stored.
                if result.is_ok() {
                    rest.update(&b);
                    result = sink.append(&b);
                }
            }
            (rest, sink, result)
        });
        self.state = State::Piped(Pipe {
            md5_tx,
            rest_tx,
            md5,
            rest,
        });
    }

    async fn write_inline(&mut self, chunk: &[u8]) -> Result<(), crate::StateError> {
        let State::Inline(mut digests, mut sink) =
            std::mem::replace(&mut self.state, State::Failed)
        else {
            return Err(storage("blob writer failed earlier"));
        };
        fn append(digests: &mut Digests, sink: &mut Sink, data: &[u8]) -> std::io::Result<()> {
            digests.update(data);
            sink.append(data)
        }
        let (digests, sink, result) = if chunk.len() < OFFLOAD {
            let result = append(&mut digests, &mut sink, chunk);
            (digests, sink, result)
        } else {
            let data = chunk.to_vec();
            blocking(move || {
                let result = append(&mut digests, &mut sink, &data);
                (digests, sink, result)
            })
            .await?
        };
        // On an error the sink is dropped here (its temp file with it) and
        // the writer stays unusable.
        result.map_err(storage)?;
        self.state = State::Inline(digests, sink);
        Ok(())
    }

    /// Makes the blob durable (fsync + rename when persistent) and returns it.
    pub async fn finish(mut self) -> Result<BlobInfo, crate::StateError> {
        let (digest, sink) = match std::mem::replace(&mut self.state, State::Failed) {
            State::Inline(digests, sink) => (digests.finish(), sink),
            State::Piped(pipe) => {
                drop((pipe.md5_tx, pipe.rest_tx));
                let md5 = pipe.md5.await.map_err(storage)?;
                let (rest, sink, result) = pipe.rest.await.map_err(storage)?;
                result.map_err(storage)?;
                (rest.finish(md5), sink)
            }
            State::Failed => return Err(storage("blob writer failed earlier")),
        };
        let info = BlobInfo::new(self.id.clone(), &digest);
        match sink {
            Sink::Memory(buf) => {
                let blob = Arc::new(MemBlob {
                    bytes: Bytes::from(buf),
                    info: info.clone(),
                });
                crate::lock(&self.inner.memory)
                    .entry(self.plugin.clone())
                    .or_default()
                    .insert(self.id.clone(), blob);
            }
            Sink::File(mut f) => {
                // On an error the temp file goes with `f`.
                blocking(move || -> std::io::Result<()> {
                    f.file.write_all(&digest.to_bytes())?;
                    f.file.write_all(MAGIC)?;
                    f.file.write_all(&[b'm', digest.algorithms.bits()])?;
                    f.file.sync_all()?;
                    std::fs::rename(&f.tmp, &f.path)?;
                    sync_dir(f.path.parent().unwrap_or(Path::new(".")))
                })
                .await?
                .map_err(storage)?;
            }
        }
        Ok(info)
    }
}

/// Child process of the blob crash test: writes blobs until killed and
/// prints `ack <id> <md5> <size>` after each `finish`.
#[cfg(test)]
pub(crate) fn crash_child(dir: &Path) {
    let store = BlobStore::open(BlobConfig::persistent(dir)).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut rng = crate::tests::Rng::seeded();
        loop {
            let size = rng.below(3 << 20) as usize;
            let mut w = store.writer("s3").unwrap();
            let mut left = size;
            let mut digests = Digests::new();
            while left > 0 {
                let n = left.min(1 + rng.below(256 << 10) as usize);
                let chunk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                digests.update(&chunk);
                w.write(&chunk).await.unwrap();
                left -= n;
            }
            let info = w.finish().await.unwrap();
            assert_eq!(info.md5_hex, digests.finish().md5_hex());
            println!("ack {} {} {}", info.id, info.md5_hex, info.size);
        }
    });
}

#[cfg(test)]
mod tests;
