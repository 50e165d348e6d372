//! Test certificates made at test time with rcgen: a CA and a server certificate it signs
//! (for `localhost` and 127.0.0.1), written as PEM files for the TLS test servers and clients.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

pub struct TestCerts {
    pub dir: tempfile::TempDir,
    /// The CA's certificate: what a client trusts.
    pub ca: PathBuf,
    /// The server's certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCerts {
    /// A fresh CA and a server certificate for `names` signed by it.
    pub fn generate(names: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ue-certs-")
            .tempdir()
            .expect("tempdir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own: two test CAs must not look like one with a bad signature.
        let ca_name = format!("UnionEyes test CA {}", uuid::Uuid::new_v4().simple());
        ca_params
            .distinguished_name
            .push(DnType::CommonName, ca_name);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key"))
            .expect("ca cert");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &ca).expect("server cert");
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write pem");
            path
        };
        Self {
            ca: write("ca.pem", ca.pem()),
            cert: write("server.crt", cert.pem()),
            key: write("server.key", key.serialize_pem()),
            dir,
        }
    }

    /// Make the files readable by `owner` only (PostgreSQL refuses a key others can read).
    pub fn give_to(&self, owner: &str) {
        use std::os::unix::fs::PermissionsExt;
        for path in [&self.ca, &self.cert, &self.key] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod dir");
        if super::pg::is_root() {
            let ok = std::process::Command::new("chown")
                .arg(format!("{owner}:{owner}"))
                .args([&self.cert, &self.key])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown of the certificates failed");
        }
    }
}
