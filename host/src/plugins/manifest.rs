//! plugins.toml: which plugins run, where their wasm is, what they may use.
//!
//! ```toml
//! [plugins.sts]
//! path = "target/wasm32-wasip2/plugin/sts.wasm"   # relative to this file
//! enabled = true
//! capabilities = ["identity"]      # beyond the basic ones every plugin has (identity, http, ...)
//! memory_mb = 64                   # linear memory cap per instance
//! timeout_ms = 30000               # run time per call, waits excluded
//! [plugins.sts.settings]           # handed to the plugin in its context
//! some_key = "value"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// Capabilities every plugin gets without asking.
pub const BASIC_CAPABILITIES: &[&str] = &["store", "blobs", "services", "tasks", "log"];
/// Capabilities a plugin gets only when plugins.toml grants them.
pub const GRANTED_CAPABILITIES: &[&str] =
    &["identity", "http", "containers", "functions", "processes"];

pub const DEFAULT_MEMORY_MB: u64 = 128;
pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    pub path: PathBuf,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default = "default_memory")]
    pub memory_mb: u64,
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Programs the `processes` capability may start for it (names on PATH).
    #[serde(default)]
    pub programs: Vec<String>,
}

fn yes() -> bool {
    true
}
fn default_memory() -> u64 {
    DEFAULT_MEMORY_MB
}
fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_MS
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default)]
    plugins: BTreeMap<String, PluginEntry>,
}

/// The merged set of plugins to load, by name.
#[derive(Debug, Default)]
pub struct Manifest {
    pub plugins: BTreeMap<String, PluginEntry>,
}

impl Manifest {
    /// Reads a manifest file; relative wasm paths are taken from its folder.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text, path.parent().unwrap_or(Path::new(".")))
            .with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Self> {
        let file: ManifestFile = toml::from_str(text)?;
        let mut plugins = BTreeMap::new();
        for (name, mut entry) in file.plugins {
            validate_name(&name)?;
            for cap in &entry.capabilities {
                if !BASIC_CAPABILITIES.contains(&cap.as_str())
                    && !GRANTED_CAPABILITIES.contains(&cap.as_str())
                {
                    anyhow::bail!("plugin {name}: unknown capability {cap:?}");
                }
            }
            if entry.path.is_relative() {
                entry.path = base.join(&entry.path);
            }
            plugins.insert(name, entry);
        }
        Ok(Self { plugins })
    }

    /// Entries of `other` replace or add to ours (extra plugins files).
    pub fn merge(&mut self, other: Manifest) {
        self.plugins.extend(other.plugins);
    }

    /// Adds every `<name>.wasm` of a folder not already named (PLUGINS_DIR).
    pub fn add_dir(&mut self, dir: &Path) -> anyhow::Result<()> {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("reading PLUGINS_DIR {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
                continue;
            }
            let Some(name) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            validate_name(&name)?;
            self.plugins.entry(name).or_insert(PluginEntry {
                path,
                enabled: true,
                capabilities: Vec::new(),
                memory_mb: DEFAULT_MEMORY_MB,
                timeout_ms: DEFAULT_TIMEOUT_MS,
                settings: BTreeMap::new(),
                programs: Vec::new(),
            });
        }
        Ok(())
    }

    /// Keeps only the enabled entries, restricted to `services` when given
    /// (MiniStack's SERVICES=a,b).
    pub fn enabled(&self, services: Option<&[String]>) -> Vec<(String, PluginEntry)> {
        self.plugins
            .iter()
            .filter(|(_, e)| e.enabled)
            .filter(|(name, _)| services.is_none_or(|s| s.iter().any(|x| x == *name)))
            .map(|(n, e)| (n.clone(), e.clone()))
            .collect()
    }
}

fn validate_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    anyhow::ensure!(
        ok,
        "plugin name {name:?} must be lowercase letters, digits, '-' or '_'"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_relative_paths() {
        let m = Manifest::parse(
            "[plugins.sts]\npath = \"p/sts.wasm\"\ncapabilities = [\"identity\"]\n[plugins.sts.settings]\na = \"b\"\n[plugins.sqs]\npath = \"/abs/sqs.wasm\"\nenabled = false\nmemory_mb = 32\n",
            Path::new("/repo"),
        )
        .unwrap();
        let sts = &m.plugins["sts"];
        assert_eq!(sts.path, PathBuf::from("/repo/p/sts.wasm"));
        assert_eq!(sts.memory_mb, DEFAULT_MEMORY_MB);
        assert_eq!(sts.settings["a"], "b");
        assert_eq!(m.plugins["sqs"].path, PathBuf::from("/abs/sqs.wasm"));
        let enabled: Vec<_> = m.enabled(None).into_iter().map(|(n, _)| n).collect();
        assert_eq!(enabled, ["sts"]);
    }

    #[test]
    fn services_restricts_and_merge_overrides() {
        let mut m = Manifest::parse(
            "[plugins.a]\npath=\"a.wasm\"\n[plugins.b]\npath=\"b.wasm\"\n",
            Path::new("/"),
        )
        .unwrap();
        m.merge(Manifest::parse("[plugins.b]\npath=\"other.wasm\"\n", Path::new("/x")).unwrap());
        assert_eq!(m.plugins["b"].path, PathBuf::from("/x/other.wasm"));
        let only_b: Vec<_> = m
            .enabled(Some(&["b".to_string()]))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(only_b, ["b"]);
    }

    #[test]
    fn rejects_bad_names_unknown_keys_and_capabilities() {
        assert!(Manifest::parse("[plugins.\"../x\"]\npath=\"a\"\n", Path::new("/")).is_err());
        assert!(Manifest::parse("[plugins.a]\npath=\"a\"\ncolour=1\n", Path::new("/")).is_err());
        assert!(
            Manifest::parse(
                "[plugins.a]\npath=\"a\"\ncapabilities=[\"root\"]\n",
                Path::new("/")
            )
            .is_err()
        );
    }
}
