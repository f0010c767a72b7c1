//! Code bundles: a zip blob checked and unpacked once into a cache folder
//! named by its SHA-256, and layer sets merged into one folder that plays
//! the part of `/opt` for local processes.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use ministack_protocol::AwsError;
use ministack_state::blobs::BlobStore;
use sha2::{Digest, Sha256};

/// AWS's limit on a function's unpacked code and layers together.
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;

/// A bundle that is unpacked in the cache.
#[derive(Debug)]
pub struct Bundle {
    pub sha256_base64: String,
    pub size: u64,
    pub unzipped_size: u64,
    pub dir: PathBuf,
}

/// Unpacked bundles, by digest on disk and by (plugin, blob id) in memory.
pub struct CodeCache {
    root: PathBuf,
    by_blob: Mutex<HashMap<(String, String), Arc<Bundle>>>,
    /// One unpack at a time per digest (two functions with the same zip).
    unpacking: tokio::sync::Mutex<()>,
}

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterValueException", message, 400)
}

impl CodeCache {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            by_blob: Mutex::new(HashMap::new()),
            unpacking: tokio::sync::Mutex::new(()),
        }
    }

    pub fn known(&self, plugin: &str, blob: &str) -> Option<Arc<Bundle>> {
        self.by_blob
            .lock()
            .unwrap()
            .get(&(plugin.to_string(), blob.to_string()))
            .cloned()
    }

    /// Checks and unpacks the zip held in `blob` (of `plugin`).
    pub async fn prepare(
        &self,
        blobs: &BlobStore,
        plugin: &str,
        blob: &str,
    ) -> Result<Arc<Bundle>, AwsError> {
        if let Some(b) = self.known(plugin, blob) {
            return Ok(b);
        }
        let info = blobs
            .stat(plugin, blob)
            .ok_or_else(|| invalid_parameter(format!("No code blob {blob:?}")))?;
        let bytes = blobs
            .read(plugin, blob, 0, info.size)
            .await
            .map_err(|e| invalid_parameter(format!("Could not read the code blob: {e}")))?;
        let root = self.root.join("code");
        let _one_at_a_time = self.unpacking.lock().await;
        let bundle = tokio::task::spawn_blocking(move || unpack_cached(&root, &bytes))
            .await
            .map_err(|e| AwsError::new("ServiceException", e.to_string(), 500))??;
        let bundle = Arc::new(bundle);
        self.by_blob
            .lock()
            .unwrap()
            .insert((plugin.to_string(), blob.to_string()), bundle.clone());
        Ok(bundle)
    }

    /// One folder holding the layers unpacked in order (a later layer's
    /// files replace an earlier one's), as AWS lays them under /opt.
    pub async fn layers_dir(&self, layers: &[Arc<Bundle>]) -> Result<Option<PathBuf>, AwsError> {
        if layers.is_empty() {
            return Ok(None);
        }
        let mut key = Sha256::new();
        for l in layers {
            key.update(l.sha256_base64.as_bytes());
            key.update(b"\n");
        }
        let dir = self.root.join("opt").join(hex::encode(key.finalize()));
        if dir.join(".complete").exists() {
            return Ok(Some(dir));
        }
        let total: u64 = layers.iter().map(|l| l.unzipped_size).sum();
        if total > MAX_UNZIPPED_BYTES {
            return Err(unzipped_too_large());
        }
        let sources: Vec<PathBuf> = layers.iter().map(|l| l.dir.clone()).collect();
        let _one_at_a_time = self.unpacking.lock().await;
        let target = dir.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let tmp = target.with_extension(format!("tmp{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            std::fs::create_dir_all(&tmp)?;
            for src in &sources {
                copy_tree(src, &tmp)?;
            }
            std::fs::write(tmp.join(".complete"), b"")?;
            let _ = std::fs::remove_dir_all(&target);
            std::fs::rename(&tmp, &target)
        })
        .await
        .map_err(|e| AwsError::new("ServiceException", e.to_string(), 500))?
        .map_err(|e| {
            AwsError::new(
                "ServiceException",
                format!("Could not unpack layers: {e}"),
                500,
            )
        })?;
        Ok(Some(dir))
    }
}

fn unzipped_too_large() -> AwsError {
    invalid_parameter(format!(
        "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
    ))
}

fn not_a_zip() -> AwsError {
    invalid_parameter(
        "Could not unzip uploaded file. Please check your file, then try to upload again.",
    )
}

/// Unpacks `zip` into `<root>/<sha256 hex>` unless a previous run did.
fn unpack_cached(root: &Path, zip: &[u8]) -> Result<Bundle, AwsError> {
    let digest = Sha256::digest(zip);
    let sha256_base64 = base64::engine::general_purpose::STANDARD.encode(digest);
    let dir = root.join(hex::encode(digest));
    let marker = dir.join(".complete");
    if let Ok(text) = std::fs::read_to_string(&marker)
        && let Ok(unzipped_size) = text.trim().parse()
    {
        return Ok(Bundle {
            sha256_base64,
            size: zip.len() as u64,
            unzipped_size,
            dir,
        });
    }
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let unzipped_size = match unpack(zip, &tmp) {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let io = |e: std::io::Error| {
        AwsError::new(
            "ServiceException",
            format!("Could not write the code cache: {e}"),
            500,
        )
    };
    std::fs::write(tmp.join(".complete"), unzipped_size.to_string()).map_err(io)?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(io)?;
    Ok(Bundle {
        sha256_base64,
        size: zip.len() as u64,
        unzipped_size,
        dir,
    })
}

/// Unpacks a zip into `dest`, refusing entries that escape it and bundles
/// over [`MAX_UNZIPPED_BYTES`] (by the sizes the zip declares, and by the
/// bytes actually written, for archives that lie).
pub fn unpack(zip: &[u8], dest: &Path) -> Result<u64, AwsError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|_| not_a_zip())?;
    let declared: u64 = (0..archive.len())
        .filter_map(|i| archive.by_index_raw(i).ok().map(|f| f.size()))
        .sum();
    if declared > MAX_UNZIPPED_BYTES {
        return Err(unzipped_too_large());
    }
    let io = |e: std::io::Error| {
        AwsError::new(
            "ServiceException",
            format!("Could not unpack the code: {e}"),
            500,
        )
    };
    std::fs::create_dir_all(dest).map_err(io)?;
    let mut written = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|_| not_a_zip())?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(invalid_parameter(format!(
                "Could not unzip uploaded file: the entry {:?} points outside the bundle.",
                entry.name()
            )));
        };
        let path = dest.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&path).map_err(io)?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut out = std::fs::File::create(&path).map_err(io)?;
        let budget = MAX_UNZIPPED_BYTES - written;
        let n =
            std::io::copy(&mut (&mut entry).take(budget + 1), &mut out).map_err(|_| not_a_zip())?;
        written += n;
        if written > MAX_UNZIPPED_BYTES {
            return Err(unzipped_too_large());
        }
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o777));
        }
    }
    Ok(written)
}

/// Copies `src` into `dest`, replacing files that exist (layer order).
fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".complete" {
            continue;
        }
        let to = dest.join(&name);
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&to)?;
            copy_tree(&entry.path(), &to)?;
        } else {
            let _ = std::fs::remove_file(&to);
            std::fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(body).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn unpacks_and_counts_bytes() {
        let dir = std::env::temp_dir().join(format!("ms-code-{}", std::process::id()));
        let zip = zip_of(&[("a.py", b"x = 1\n"), ("pkg/b.py", b"y = 2\n")]);
        let n = unpack(&zip, &dir).unwrap();
        assert_eq!(n, 12);
        assert_eq!(std::fs::read(dir.join("pkg/b.py")).unwrap(), b"y = 2\n");
        let again = unpack_cached(&dir.join("cache"), &zip).unwrap();
        assert_eq!(again.unzipped_size, 12);
        assert_eq!(again.sha256_base64.len(), 44);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refuses_what_is_not_a_zip() {
        let err = unpack(b"hello", Path::new("/nonexistent")).unwrap_err();
        assert_eq!(err.code, "InvalidParameterValueException");
        assert!(err.message.contains("Could not unzip"));
    }
}
