//! TLS from PEM files that are reloaded when they change on disk.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{Error, Result, TlsFiles};

/// Builds the acceptor: TLS 1.2 and 1.3 with aws-lc-rs, ALPN `h2` then `http/1.1`, and a
/// certificate resolver that reloads the files.
pub(crate) fn acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = ReloadingCert::load(files, provider.clone())?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls {
            path: files.cert.clone(),
            reason: "no usable TLS protocol version".into(),
            source: Some(Box::new(e)),
        })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// What identifies one version of a file on disk: modification time, size and (on Unix) inode.
///
/// An atomic replacement (write a temporary file, rename it over, as certbot and cert-manager
/// do) changes the inode even when the mtime has coarse granularity.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    ino: u64,
}

impl Stamp {
    fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let ino = 0;
        Ok(Self {
            modified: meta.modified().ok(),
            len: meta.len(),
            ino,
        })
    }
}

/// A [`ResolvesServerCert`] that serves the certificate from two PEM files and loads them again
/// when either file changed since the last handshake.
///
/// The check is two `stat` calls per handshake, small next to the handshake's own cost. When
/// the new files do not load (half-written, or a key that does not match the certificate) the
/// previous certificate stays in service and the failure is logged; the next handshake tries
/// again, so writing the key a moment after the certificate heals by itself.
pub(crate) struct ReloadingCert {
    /// The certificate chain file.
    cert_path: PathBuf,
    /// The private key file.
    key_path: PathBuf,
    /// Parses the private key.
    provider: Arc<CryptoProvider>,
    /// The files' stamps when they last loaded, and what they held.
    current: Mutex<Loaded>,
}

struct Loaded {
    stamps: (Stamp, Stamp),
    key: Arc<CertifiedKey>,
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    /// Loads the files once; failing here is a start-up error.
    pub(crate) fn load(files: &TlsFiles, provider: Arc<CryptoProvider>) -> Result<Self> {
        let (stamps, key) = load_pair(&files.cert, &files.key, &provider)?;
        Ok(Self {
            cert_path: files.cert.clone(),
            key_path: files.key.clone(),
            provider,
            current: Mutex::new(Loaded {
                stamps,
                key: Arc::new(key),
            }),
        })
    }

    /// The certificate to serve now, reloading first when the files changed.
    fn current(&self) -> Arc<CertifiedKey> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stamps = (Stamp::of(&self.cert_path), Stamp::of(&self.key_path));
        let changed = match &stamps {
            (Ok(cert), Ok(key)) => (cert, key) != (&current.stamps.0, &current.stamps.1),
            // A file missing for a moment (being replaced): keep serving the old pair.
            _ => false,
        };
        if changed {
            match load_pair(&self.cert_path, &self.key_path, &self.provider) {
                Ok((stamps, key)) => {
                    tracing::info!(cert = %self.cert_path.display(), "TLS certificate reloaded");
                    *current = Loaded {
                        stamps,
                        key: Arc::new(key),
                    };
                }
                Err(error) => {
                    tracing::warn!(%error, "TLS certificate changed but does not load; serving the previous one");
                }
            }
        }
        current.key.clone()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn tls_error(path: &Path, reason: &str, source: Option<crate::BoxError>) -> Error {
    Error::Tls {
        path: path.to_owned(),
        reason: reason.to_owned(),
        source,
    }
}

/// Reads both files and checks that the key belongs to the certificate.
fn load_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<((Stamp, Stamp), CertifiedKey)> {
    // Stamps first: if a file changes while being read, the next handshake sees a newer stamp
    // and reads it again.
    let cert_stamp =
        Stamp::of(cert_path).map_err(|e| tls_error(cert_path, "cannot read", Some(Box::new(e))))?;
    let key_stamp =
        Stamp::of(key_path).map_err(|e| tls_error(key_path, "cannot read", Some(Box::new(e))))?;
    let chain = CertificateDer::pem_file_iter(cert_path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| tls_error(cert_path, "not a PEM certificate chain", Some(Box::new(e))))?;
    if chain.is_empty() {
        return Err(tls_error(cert_path, "holds no certificate", None));
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| tls_error(key_path, "not a PEM private key", Some(Box::new(e))))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| tls_error(key_path, "unsupported private key", Some(Box::new(e))))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        tls_error(
            key_path,
            "the key does not belong to the certificate",
            Some(Box::new(e)),
        )
    })?;
    Ok(((cert_stamp, key_stamp), certified))
}
