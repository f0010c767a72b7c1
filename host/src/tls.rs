//! TLS client settings for outbound HTTPS (the `http` capability): the
//! platform's trusted roots plus an optional private CA bundle
//! (`MINISTACK_CA_BUNDLE`, PEM), verified with rustls on the ring provider.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Reads every certificate of a PEM bundle; an error when the file cannot be
/// read or holds no certificate.
pub fn read_ca_bundle(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| anyhow::anyhow!("MINISTACK_CA_BUNDLE {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("MINISTACK_CA_BUNDLE {}: {e}", path.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "MINISTACK_CA_BUNDLE {}: no PEM certificate in it",
        path.display()
    );
    Ok(certs)
}

/// The roots outbound HTTPS trusts: the platform's store (missing or
/// unreadable system certificates are tolerated: a private CA alone works)
/// and the certificates of `ca_bundle`.
pub fn roots(ca_bundle: Option<&Path>) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!("platform certificates: {e}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "platform root certificates");
    if let Some(path) = ca_bundle {
        for cert in read_ca_bundle(path)? {
            roots
                .add(cert)
                .map_err(|e| anyhow::anyhow!("MINISTACK_CA_BUNDLE {}: {e}", path.display()))?;
        }
    }
    Ok(roots)
}

/// A rustls client configuration over `roots` (TLS 1.2 and 1.3, ALPN h2 and
/// http/1.1 set by the connector).
pub fn client_config(roots: RootCertStore) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("ministack-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = read_ca_bundle(&empty).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
        let missing = dir.join("missing.pem");
        assert!(read_ca_bundle(&missing).is_err());
        let ca = rcgen::CertifiedIssuer::self_signed(
            rcgen::CertificateParams::new(Vec::<String>::new()).unwrap(),
            rcgen::KeyPair::generate().unwrap(),
        )
        .unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, ca.pem()).unwrap();
        assert_eq!(read_ca_bundle(&good).unwrap().len(), 1);
        assert!(!roots(Some(&good)).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
