//! TLS plumbing shared by the listeners and the PagerDuty client: the process-wide rustls
//! crypto provider (ring: pure Rust plus a little C, no cmake) and the server identity loaded
//! from PEM files. Owns no sockets.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A server certificate chain and its key, as PEM, read and checked at config time.
#[derive(Clone)]
pub struct Identity {
    pub cert_pem: Vec<u8>,
    pub key_pem: crate::config::Secret,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(..)")
    }
}

/// Installs ring as rustls's default provider (once; later calls do nothing).
pub fn install_crypto_provider() {
    // Err means a provider is installed already, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Identity {
    /// Parses and checks the pair. The error says which half is wrong.
    pub fn new(cert_pem: Vec<u8>, key_pem: Vec<u8>) -> Result<Identity, String> {
        let id = Identity {
            cert_pem,
            key_pem: crate::config::Secret(key_pem),
        };
        id.server_config(vec![])?;
        Ok(id)
    }

    /// A rustls server config for this identity, offering `alpn` protocols.
    pub fn server_config(&self, alpn: Vec<Vec<u8>>) -> Result<Arc<rustls::ServerConfig>, String> {
        install_crypto_provider();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("certificate PEM: {e}"))?;
        if certs.is_empty() {
            return Err("certificate PEM: no CERTIFICATE block".into());
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem.0)
            .map_err(|e| format!("private key PEM: {e}"))?;
        let mut cfg = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| format!("certificate and key do not make a TLS identity: {e}"))?;
        cfg.alpn_protocols = alpn;
        Ok(Arc::new(cfg))
    }
}
