//! DKIM signatures on the relay's copies (RFC 6376; Ed25519 per RFC 8463): this module owns
//! loading the signing key named by `[relay.dkim]` (refused when the group or others may read
//! it) and signing a copy once its header block is final, so that the unsubscribe headers a
//! bulk copy gets are covered by `h=` (RFC 8058 §4; the large mailbox providers' bulk-sender
//! rules ask for both fields to be signed).

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::{DkimSigner, Done};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject as _;

use crate::config::DkimConfig;

/// The header fields signed when `[relay.dkim] headers` is absent.
pub const DEFAULT_HEADERS: [&str; 7] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
];

/// Fields always signed: the author (RFC 6376 §5.4: `From` must be) and the one-click
/// unsubscribe pair (RFC 8058 §4).
const ALWAYS: [&str; 3] = ["From", "List-Unsubscribe", "List-Unsubscribe-Post"];

/// A loaded signer: the key and the signature's template.
pub enum Signer {
    /// `rsa-sha256`.
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    /// `ed25519-sha256` (RFC 8463).
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Rsa(_) => "Signer(rsa-sha256)",
            Self::Ed25519(_) => "Signer(ed25519-sha256)",
        })
    }
}

impl Signer {
    /// The signer `config` describes, its key read from its file; an error names the setting.
    pub fn load(config: &DkimConfig) -> Result<Self, String> {
        let path = &config.private_key_file;
        let shown = path.display();
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("config: relay.dkim.private_key_file: {shown}: {e}"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            // Whoever reads the key can sign mail as the domain.
            if mode & 0o077 != 0 {
                return Err(format!(
                    "config: relay.dkim.private_key_file: {shown} is readable by others (mode {mode:o}): make it 600 (chmod 600)"
                ));
            }
        }
        let _ = meta;
        let pem = std::fs::read(path)
            .map_err(|e| format!("config: relay.dkim.private_key_file: {shown}: {e}"))?;
        Self::from_pem(config, &pem)
            .map_err(|e| format!("config: relay.dkim.private_key_file: {shown}: {e}"))
    }

    /// The signer of `config` with the key in `pem`.
    pub fn from_pem(config: &DkimConfig, pem: &[u8]) -> Result<Self, String> {
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("not a PEM private key ({e})"))?;
        let mut headers: Vec<String> = ALWAYS.iter().map(|h| (*h).to_owned()).collect();
        let wanted: Vec<String> = match &config.headers {
            Some(list) => list.clone(),
            None => DEFAULT_HEADERS.iter().map(|h| (*h).to_owned()).collect(),
        };
        for h in wanted {
            if !headers.iter().any(|k| k.eq_ignore_ascii_case(&h)) {
                headers.push(h);
            }
        }
        if let PrivateKeyDer::Pkcs8(der) = &key
            && let Ok(ed) = Ed25519Key::from_pkcs8_der(der.secret_pkcs8_der())
        {
            return Ok(Self::Ed25519(
                DkimSigner::from_key(ed)
                    .domain(config.domain.clone())
                    .selector(config.selector.clone())
                    .headers(headers),
            ));
        }
        let rsa = RsaKey::<Sha256>::from_key_der(key)
            .map_err(|e| format!("neither an RSA nor an Ed25519 key ({e})"))?;
        Ok(Self::Rsa(
            DkimSigner::from_key(rsa)
                .domain(config.domain.clone())
                .selector(config.selector.clone())
                .headers(headers),
        ))
    }

    /// `message` with its `DKIM-Signature` field first (RFC 6376 §5.6).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let signature = match self {
            Self::Rsa(s) => s.sign(message),
            Self::Ed25519(s) => s.sign(message),
        }
        .map_err(|e| e.to_string())?;
        let mut signed = signature.to_header().into_bytes();
        signed.extend_from_slice(message);
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_auth::common::parse::TxtRecordParser as _;
    use mail_auth::common::verify::DomainKey;
    use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, ResolverCache, Txt};
    use std::borrow::Borrow;
    use std::hash::Hash;

    /// A 1024-bit RSA key for tests only (PKCS #1).
    const RSA_KEY: &str = include_str!("../../tests/dkim/test-key.pem");

    /// Its public half as DNS publishes it.
    const RSA_RECORD: &str = include_str!("../../tests/dkim/test-key.txt");

    /// The DNS as the verifier sees it: one TXT record, nothing asked of a real server.
    struct OneRecord(Box<str>, Txt);

    impl ResolverCache<Box<str>, Txt> for OneRecord {
        fn get<Q>(&self, name: &Q) -> Option<Txt>
        where
            Box<str>: Borrow<Q>,
            Q: Hash + Eq + ?Sized,
        {
            (self.0.borrow() == name).then(|| self.1.clone())
        }
        fn remove<Q>(&self, _: &Q) -> Option<Txt>
        where
            Box<str>: Borrow<Q>,
            Q: Hash + Eq + ?Sized,
        {
            None
        }
        fn insert(&self, _: Box<str>, _: Txt, _: std::time::Instant) {}
    }

    fn config() -> DkimConfig {
        DkimConfig {
            domain: "example.it".to_owned(),
            selector: "consento".to_owned(),
            private_key_file: "/nonexistent".into(),
            headers: None,
        }
    }

    const MESSAGE: &str = "From: shop@example.it\r\nTo: anna@example.it\r\nSubject: News\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@example.it>\r\nList-Unsubscribe: <https://consento.test/u/abc>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello.\r\n";

    async fn verify(signed: &[u8], record: &str) -> Vec<DkimResult> {
        let dns = OneRecord(
            "consento._domainkey.example.it.".into(),
            Txt::from(DomainKey::parse(record.as_bytes()).unwrap()),
        );
        let message = AuthenticatedMessage::parse(signed).unwrap();
        let verifier = MessageAuthenticator::new_cloudflare().unwrap();
        verifier
            .verify_dkim(mail_auth::Parameters::new(&message).with_txt_cache(&dns))
            .await
            .into_iter()
            .map(|o| o.result().clone())
            .collect()
    }

    #[tokio::test]
    async fn a_signed_copy_covers_its_unsubscribe_headers_and_verifies_with_the_public_key() {
        let signer = Signer::from_pem(&config(), RSA_KEY.as_bytes()).unwrap();
        let signed = signer.sign(MESSAGE.as_bytes()).unwrap();
        let text = String::from_utf8(signed.clone()).unwrap();
        let field = text.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert!(field.starts_with("dkim-signature:"), "{text}");
        let h = field.split("h=").nth(1).unwrap().split(';').next().unwrap();
        let h: String = h.split_whitespace().collect();
        for name in [
            "list-unsubscribe",
            "list-unsubscribe-post",
            "from",
            "to",
            "subject",
        ] {
            assert!(h.split(':').any(|n| n == name), "{name} not in h={h}");
        }
        assert_eq!(verify(&signed, RSA_RECORD).await, vec![DkimResult::Pass]);
        // A copy changed after signing fails: the test can tell.
        let tampered = text.replace("https://consento.test/u/abc", "https://evil.test/u/abc");
        assert_ne!(
            verify(tampered.as_bytes(), RSA_RECORD).await,
            vec![DkimResult::Pass]
        );
    }

    #[test]
    fn a_key_file_others_may_read_or_that_is_no_key_is_refused() {
        let dir = std::env::temp_dir().join(format!("consento-dkim-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dkim.pem");
        std::fs::write(&path, RSA_KEY).unwrap();
        let mut c = config();
        c.private_key_file = path.clone();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = Signer::load(&c).unwrap_err();
            assert!(e.contains("readable by others"), "{e}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(Signer::load(&c), Ok(Signer::Rsa(_))));
        std::fs::write(&path, "not a key").unwrap();
        assert!(
            Signer::load(&c)
                .unwrap_err()
                .contains("relay.dkim.private_key_file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
