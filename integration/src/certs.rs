//! Test certificates: a throw-away CA and certificates it signs, written as PEM files.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate (PEM file).
    pub cert_path: PathBuf,
}

/// A certificate and key signed by a [`TestCa`].
pub struct Leaf {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

impl TestCa {
    pub fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("ca key"))
            .expect("ca cert");
        let cert_path = dir.join(format!("{name}-ca.crt"));
        fs::write(&cert_path, issuer.pem()).expect("write ca");
        Self { issuer, cert_path }
    }

    /// Signs a certificate for `names` (DNS names or IP addresses) with common name `cn`.
    pub fn issue(&self, dir: &Path, file: &str, cn: &str, names: &[&str]) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        let cert_path = dir.join(format!("{file}.crt"));
        let key_path = dir.join(format!("{file}.key"));
        fs::write(&cert_path, cert.pem()).expect("write cert");
        fs::write(&key_path, key.serialize_pem()).expect("write key");
        fs::set_permissions(&key_path, fs::Permissions::from_mode(0o600)).expect("key mode");
        Leaf {
            cert_path,
            key_path,
        }
    }
}
