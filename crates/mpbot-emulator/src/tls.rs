//! A test CA for local HTTPS webhooks: a CA certificate and a server certificate signed by it.
//!
//! Give the CA to the emulator (`--trust-ca`, [`crate::EmulatorBuilder::trust_ca_pem`]) and the
//! server certificate and key to the webhook receiver; the emulator then calls the receiver over
//! real HTTPS with normal certificate verification.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::Error;

/// File name [`TestCa::write_to`] gives the CA certificate.
pub const CA_CERT_FILE: &str = "ca-cert.pem";
/// File name [`TestCa::write_to`] gives the server certificate.
pub const SERVER_CERT_FILE: &str = "server-cert.pem";
/// File name [`TestCa::write_to`] gives the server's private key.
pub const SERVER_KEY_FILE: &str = "server-key.pem";

/// A freshly generated CA and a server certificate it signed, all as PEM.
///
/// The server certificate names `localhost` and `127.0.0.1`, plus any extra hosts, as
/// subject alternative names. Keys are ECDSA P-256. Nothing here is secret beyond a test.
#[derive(Clone)]
pub struct TestCa {
    ca_cert_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

fn gen_err(what: &str) -> impl FnOnce(rcgen::Error) -> Error + '_ {
    move |e| Error::GenTls(what.to_owned(), Some(Box::new(e)))
}

impl TestCa {
    /// Generates a CA and a server certificate for `localhost`, `127.0.0.1` and `extra_hosts`
    /// (DNS names or IP addresses).
    ///
    /// # Errors
    /// [`Error::GenTls`] when a host is not a valid DNS name or IP address.
    pub fn generate(extra_hosts: &[&str]) -> Result<Self, Error> {
        let mut sans: Vec<String> = vec!["localhost".into(), "127.0.0.1".into()];
        for host in extra_hosts {
            if !sans.iter().any(|s| s == host) {
                sans.push((*host).to_owned());
            }
        }

        let ca_key = KeyPair::generate().map_err(gen_err("CA key"))?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(gen_err("CA"))?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mpbot-emulator test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(gen_err("CA"))?;
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(gen_err("server key"))?;
        let mut server_params =
            CertificateParams::new(sans).map_err(gen_err("server certificate names"))?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server_params.use_authority_key_identifier_extension = true;
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .map_err(gen_err("server certificate"))?;

        Ok(Self {
            ca_cert_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
        })
    }

    /// The CA certificate: what the emulator must trust.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// The server certificate: what the webhook receiver presents.
    pub fn server_cert_pem(&self) -> &str {
        &self.server_cert_pem
    }

    /// The server's private key (PKCS#8 PEM).
    pub fn server_key_pem(&self) -> &str {
        &self.server_key_pem
    }

    /// Writes [`CA_CERT_FILE`], [`SERVER_CERT_FILE`] and [`SERVER_KEY_FILE`] into `dir`,
    /// creating it if needed.
    ///
    /// # Errors
    /// [`Error::GenTls`] when the directory or a file cannot be written.
    pub fn write_to(&self, dir: &Path) -> Result<(), Error> {
        let io = |what: &str| {
            let what = what.to_owned();
            move |e: std::io::Error| Error::GenTls(what, Some(Box::new(e)))
        };
        std::fs::create_dir_all(dir).map_err(io("creating the output directory"))?;
        for (name, pem) in [
            (CA_CERT_FILE, &self.ca_cert_pem),
            (SERVER_CERT_FILE, &self.server_cert_pem),
            (SERVER_KEY_FILE, &self.server_key_pem),
        ] {
            std::fs::write(dir.join(name), pem).map_err(io(name))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pem_and_rejects_bad_hosts() {
        let ca = TestCa::generate(&["example.test"]).unwrap();
        assert!(ca.ca_cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(
            ca.server_cert_pem()
                .starts_with("-----BEGIN CERTIFICATE-----")
        );
        assert!(ca.server_key_pem().contains("PRIVATE KEY"));
        assert_ne!(ca.ca_cert_pem(), ca.server_cert_pem());
        assert!(TestCa::generate(&["h\u{e9}llo.test"]).is_err());
    }
}
