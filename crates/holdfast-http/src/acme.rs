//! Certificates from an ACME directory (Let's Encrypt by default) through rustls-acme: the
//! TLS-ALPN-01 challenge is answered on the HTTPS listener itself, the account key and the
//! certificate are cached in `<data dir>/acme/` (directory 0700, files 0600), and renewal
//! starts when two thirds of the certificate's lifetime have passed (rustls-acme's schedule).

use crate::tls::{self, Deadline};
use async_trait::async_trait;
use futures::StreamExt;
use holdfast_app::metrics::Metrics;
use holdfast_core::ops::config::AcmeSettings;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls_acme::axum::AxumAcceptor;
use rustls_acme::{AccountCache, AcmeConfig, CertCache, EventOk};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder of the data directory that holds the ACME account and certificates.
pub const CACHE_DIR: &str = "acme";

/// The ACME account key and certificates as files only the server's user can read.
pub struct AcmeCache {
    dir: PathBuf,
    metrics: Arc<Metrics>,
}

impl AcmeCache {
    /// Creates `dir` (0700) if needed.
    pub fn open(dir: PathBuf, metrics: Arc<Metrics>) -> Result<AcmeCache, String> {
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)))
            .map_err(|e| format!("cannot prepare the ACME cache {}: {e}", dir.display()))?;
        Ok(AcmeCache { dir, metrics })
    }

    /// A file name per account (contacts and directory) or certificate (names and directory),
    /// so changing either orders anew instead of reusing what belongs to another setup.
    fn file_name(kind: &str, parts: &[String], directory: &str) -> String {
        let mut hash = Sha256::new();
        for part in parts {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.update(directory.as_bytes());
        let hex: String = hash.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{kind}-{hex}.pem")
    }

    async fn read(&self, name: String) -> Result<Option<Vec<u8>>, std::io::Error> {
        match tokio::fs::read(self.dir.join(name)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes through a temporary file created 0600 and renamed into place, so a crash never
    /// leaves half a key and the content is never readable by others, even for a moment.
    async fn write(&self, name: String, content: &[u8]) -> Result<(), std::io::Error> {
        let path = self.dir.join(&name);
        let temporary = self.dir.join(format!(".{name}.tmp"));
        let content = content.to_vec();
        tokio::task::spawn_blocking(move || {
            let _ = std::fs::remove_file(&temporary);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temporary)?;
            file.write_all(&content)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)
        })
        .await
        .map_err(std::io::Error::other)?
    }

    /// Tells the metrics when the certificate in `pem` (rustls-acme's key-then-chain file)
    /// expires.
    fn note_expiry(&self, pem: &[u8]) {
        let leaf = CertificateDer::pem_slice_iter(pem).next();
        match leaf.map(|c| {
            c.map_err(|e| e.to_string())
                .and_then(|c| tls::not_after(&c))
        }) {
            Some(Ok(expires)) => self.metrics.tls_certificate(expires),
            Some(Err(e)) => tracing::warn!(error = %e, "the ACME certificate cannot be read"),
            None => tracing::warn!("the ACME certificate file holds no certificate"),
        }
    }
}

#[async_trait]
impl CertCache for AcmeCache {
    type EC = std::io::Error;
    async fn load_cert(
        &self,
        domains: &[String],
        directory_url: &str,
    ) -> Result<Option<Vec<u8>>, Self::EC> {
        let pem = self
            .read(Self::file_name("certificate", domains, directory_url))
            .await?;
        if let Some(pem) = &pem {
            self.note_expiry(pem);
        }
        Ok(pem)
    }
    async fn store_cert(
        &self,
        domains: &[String],
        directory_url: &str,
        cert: &[u8],
    ) -> Result<(), Self::EC> {
        self.note_expiry(cert);
        self.write(Self::file_name("certificate", domains, directory_url), cert)
            .await
    }
}

#[async_trait]
impl AccountCache for AcmeCache {
    type EA = std::io::Error;
    async fn load_account(
        &self,
        contact: &[String],
        directory_url: &str,
    ) -> Result<Option<Vec<u8>>, Self::EA> {
        self.read(Self::file_name("account", contact, directory_url))
            .await
    }
    async fn store_account(
        &self,
        contact: &[String],
        directory_url: &str,
        account: &[u8],
    ) -> Result<(), Self::EA> {
        self.write(Self::file_name("account", contact, directory_url), account)
            .await
    }
}

/// The client configuration for talking to the directory: the public roots, plus the CA
/// certificates in `ca_file` (a test directory's own CA).
fn directory_client(ca_file: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let mut added = 0;
    for cert in CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| format!("cannot read {}: {e}", ca_file.display()))?
    {
        let cert = cert.map_err(|e| format!("{}: not PEM ({e})", ca_file.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("{}: not a CA certificate ({e})", ca_file.display()))?;
        added += 1;
    }
    if added == 0 {
        return Err(format!(
            "{}: no CERTIFICATE block in the file",
            ca_file.display()
        ));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("cannot configure TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The acceptor for the HTTPS listener (challenge connections answered, the others served
/// with the current certificate once there is one) and the task that orders and renews.
pub fn start(
    settings: &AcmeSettings,
    data_dir: &Path,
    metrics: Arc<Metrics>,
) -> Result<(Deadline<AxumAcceptor>, tokio::task::JoinHandle<()>), String> {
    let cache = AcmeCache::open(data_dir.join(CACHE_DIR), metrics)?;
    let mut config = AcmeConfig::new(&settings.domains)
        .contact(settings.contact.iter())
        .directory(&settings.directory);
    if let Some(ca) = &settings.directory_ca {
        config = config.client_tls_config(directory_client(ca)?);
    }
    let mut state = config.cache(cache).state();
    let server_config = tls::server_config(state.resolver())?;
    let acceptor = Deadline(state.axum_acceptor(server_config));
    let domains = settings.domains.join(", ");
    let directory = settings.directory.clone();
    let task = tokio::spawn(async move {
        while let Some(event) = state.next().await {
            match event {
                Ok(EventOk::DeployedNewCert) => {
                    tracing::info!(%domains, %directory, "ACME certificate issued and served");
                }
                Ok(EventOk::DeployedCachedCert) => {
                    tracing::info!(%domains, "cached ACME certificate served");
                }
                Ok(other) => tracing::debug!(event = ?other, "ACME"),
                // rustls-acme retries with a growing pause (up to about 18 hours).
                Err(e) => tracing::error!(%domains, %directory, error = %e, "ACME"),
            }
        }
    });
    Ok((acceptor, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_files_differ_by_names_and_directory() {
        let a = AcmeCache::file_name("certificate", &["a.example".into()], "https://x/dir");
        let b = AcmeCache::file_name("certificate", &["b.example".into()], "https://x/dir");
        let c = AcmeCache::file_name("certificate", &["a.example".into()], "https://y/dir");
        assert!(a.starts_with("certificate-") && a.ends_with(".pem"), "{a}");
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
