//! HTTPS on the gateway's port (`USE_SSL=1`, LocalStack's name): each
//! connection's first byte tells a TLS handshake (0x16) from plain HTTP, so
//! both work on one port. The certificate is `CUSTOM_SSL_CERT_PATH` (with
//! `CUSTOM_SSL_KEY_PATH`, or the key in the same PEM file), or one made at
//! first start by a local CA for `localhost`, `*.localhost`,
//! `*.s3.localhost`, `*.execute-api.localhost`, `MINISTACK_HOST` and
//! 127.0.0.1, kept under `STATE_DIR/cache/tls` so it stays the same across
//! restarts. The CA is served at `/_ministack/tls/ca.pem` for clients to
//! trust (`verify=`, `--ca-bundle`, `NODE_EXTRA_CA_CERTS`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The TLS side of the listener, when USE_SSL is on.
pub struct Https {
    pub acceptor: TlsAcceptor,
    /// The PEM clients trust: the local CA, or the custom certificate chain.
    pub ca_pem: String,
}

static HTTPS: OnceLock<Option<Arc<Https>>> = OnceLock::new();

/// The configured HTTPS side (None without USE_SSL); set once at start.
pub fn get() -> Option<Arc<Https>> {
    HTTPS.get().cloned().flatten()
}

fn enabled() -> bool {
    std::env::var("USE_SSL")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// Reads USE_SSL and sets up the certificate; an error stops the start.
pub fn init(state_dir: &Path, public_host: &str) -> anyhow::Result<()> {
    let https = if enabled() {
        let (chain, key, ca_pem) = match std::env::var_os("CUSTOM_SSL_CERT_PATH") {
            Some(cert) if !cert.is_empty() => custom(PathBuf::from(cert))?,
            _ => generated(&state_dir.join("cache").join("tls"), public_host)?,
        };
        // Installing the ring provider is idempotent across callers (the
        // outbound client picks it explicitly), so an error here is benign.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| anyhow::anyhow!("USE_SSL: certificate and key do not fit: {e}"))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        tracing::info!("USE_SSL: HTTPS and HTTP on the same port");
        Some(Arc::new(Https {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca_pem,
        }))
    } else {
        None
    };
    let _ = HTTPS.set(https);
    Ok(())
}

/// Whether a connection whose first byte is `first` opens with a TLS
/// handshake record (0x16); anything else is served as plain HTTP.
pub fn starts_tls(first: u8) -> bool {
    first == 0x16
}

type Material = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String);

fn custom(cert: PathBuf) -> anyhow::Result<Material> {
    let key = std::env::var_os("CUSTOM_SSL_KEY_PATH")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cert.clone());
    let pem = std::fs::read_to_string(&cert)
        .map_err(|e| anyhow::anyhow!("CUSTOM_SSL_CERT_PATH {}: {e}", cert.display()))?;
    let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("CUSTOM_SSL_CERT_PATH {}: {e}", cert.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "CUSTOM_SSL_CERT_PATH {}: no PEM certificate in it",
        cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| {
        anyhow::anyhow!("CUSTOM_SSL_KEY_PATH {}: no private key: {e}", key.display())
    })?;
    // Only the certificates: never the key.
    let ca_pem = pem_certificates(&pem);
    Ok((chain, key, ca_pem))
}

/// The PEM blocks of certificates in a file (a key in it is left out).
fn pem_certificates(pem: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in pem.lines() {
        if line.starts_with("-----BEGIN CERTIFICATE-----") {
            inside = true;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
        if line.starts_with("-----END CERTIFICATE-----") {
            inside = false;
        }
    }
    out
}

/// The names the generated certificate covers.
fn names(public_host: &str) -> Vec<String> {
    let mut names: Vec<String> = [
        "localhost",
        "*.localhost",
        "*.s3.localhost",
        "*.execute-api.localhost",
        "*.s3-website.localhost",
        "localhost.localstack.cloud",
        "*.localhost.localstack.cloud",
        "127.0.0.1",
        "::1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if !public_host.is_empty() && !names.iter().any(|n| n == public_host) {
        names.push(public_host.to_string());
        names.push(format!("*.{public_host}"));
    }
    names
}

/// The local CA and server certificate, made once and kept in `dir`.
fn generated(dir: &Path, public_host: &str) -> anyhow::Result<Material> {
    let (ca_path, cert_path, key_path) = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    );
    if !(ca_path.exists() && cert_path.exists() && key_path.exists()) {
        make(dir, public_host)?;
        tracing::info!(
            "USE_SSL: made a local CA and certificate in {}",
            dir.display()
        );
    }
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{}: {e}", cert_path.display()))?;
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", key_path.display()))?;
    let ca_pem = std::fs::read_to_string(&ca_path)?;
    Ok((chain, key, ca_pem))
}

fn make(dir: &Path, public_host: &str) -> anyhow::Result<()> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    std::fs::create_dir_all(dir)?;
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "ministack local CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(names(public_host))?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.use_authority_key_identifier_extension = true;
    let cert = leaf.signed_by(&key, &issuer)?;
    // Written beside each other, then renamed: a crash mid-way leaves no
    // half set that would be read back.
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let tmp = dir.join(format!("{name}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, dir.join(name))?;
        Ok(())
    };
    write("server.key", &key.serialize_pem())?;
    write("server.pem", &format!("{}{}", cert.pem(), ca_cert.pem()))?;
    write("ca.pem", &ca_cert.pem())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("https-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (chain, _, ca) = generated(&dir, "localhost").unwrap();
        assert_eq!(chain.len(), 2);
        let (again, _, ca_again) = generated(&dir, "localhost").unwrap();
        assert_eq!(chain[0], again[0]);
        assert_eq!(ca, ca_again);
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn custom_pem_never_exposes_the_key() {
        let pem = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n\
                   -----BEGIN CERTIFICATE-----\nxyz\n-----END CERTIFICATE-----\n";
        assert_eq!(
            pem_certificates(pem),
            "-----BEGIN CERTIFICATE-----\nxyz\n-----END CERTIFICATE-----\n"
        );
    }
}
