//! Hot reload from PLUGINS_DIR: a cheap poll (MINISTACK_PLUGINS_WATCH_MS)
//! of each `.wasm` file's size and mtime. A file that changed is reloaded
//! once it has stayed the same for one interval, so a copy still being
//! written is not loaded half-way; a new file is loaded the same way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::Dispatcher;

/// What a file looked like: size and mtime.
type Look = (u64, Option<SystemTime>);

pub fn spawn(dispatcher: &Arc<Dispatcher>, dir: PathBuf) {
    let every = Duration::from_millis(dispatcher.config().plugins_watch_ms);
    let dispatcher: Weak<Dispatcher> = Arc::downgrade(dispatcher);
    tokio::spawn(async move {
        let mut loaded = look(&dir);
        let mut pending: HashMap<PathBuf, Look> = HashMap::new();
        loop {
            tokio::time::sleep(every).await;
            let Some(dispatcher) = dispatcher.upgrade() else {
                return;
            };
            for (path, now) in look(&dir) {
                if loaded.get(&path) == Some(&now) {
                    pending.remove(&path);
                    continue;
                }
                if pending.get(&path) != Some(&now) {
                    // Changed since the last look: wait until it settles.
                    pending.insert(path, now);
                    continue;
                }
                pending.remove(&path);
                loaded.insert(path.clone(), now);
                let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                // A plugins file may name another wasm for this plugin.
                if let Some(p) = dispatcher.registry().by_name.get(name)
                    && p.core.entry.path != path
                {
                    continue;
                }
                tracing::info!(plugin = name, "{} changed: reloading", path.display());
                match dispatcher.reload(Some(name)).await {
                    Ok(r) if r.errors.is_empty() => {}
                    Ok(_) => {} // logged by reload; the previous build serves on
                    Err(e) => tracing::debug!("{}: {e:#}", path.display()),
                }
            }
        }
    });
}

/// Every `.wasm` of the folder and how it looks now.
fn look(dir: &Path) -> HashMap<PathBuf, Look> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return HashMap::new();
    };
    entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            if path.extension().and_then(|x| x.to_str()) != Some("wasm") {
                return None;
            }
            let meta = std::fs::metadata(&path).ok()?;
            Some((path, (meta.len(), meta.modified().ok())))
        })
        .collect()
}
