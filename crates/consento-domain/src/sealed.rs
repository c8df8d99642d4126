//! Secrets sealed at rest under the installation's master key (link keys, the
//! suppression list's HMAC key, receipt signing seeds, webhook secrets and the links waiting in
//! the email outbox are encrypted under a key kept outside the database). A copy of the
//! database alone must not be a master key to the installation (GDPR Art. 32(1)(a):
//! encryption of personal data; Art. 5(1)(f): integrity and confidentiality).
//!
//! The cipher is XChaCha20-Poly1305 (an AEAD with a 192-bit nonce, safe to draw at random).
//! An envelope is `1 ‖ key id (8) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`. The key id is the
//! master key's fingerprint, so a database sealed under another key is told apart from one
//! tampered with. The associated data binds the ciphertext to its table, column and row: a
//! sealed value copied into another row or column opens to nothing. Pure: the nonce comes in
//! from the caller's injected randomness.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::DomainError;

const VERSION: u8 = 1;
const ID_LEN: usize = 8;
/// The length of a nonce: 24 random bytes, drawn by the caller for each seal.
pub const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + ID_LEN + NONCE_LEN;
/// How a sealed value stored in a text column starts.
const TEXT_PREFIX: &str = "sealed:";

/// The installation's master key: 32 bytes kept outside the database. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

/// A master key's fingerprint: the first 8 bytes of SHA-256 over a label and the key. Shown
/// and stored freely: it names a key without revealing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; ID_LEN]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl MasterKey {
    /// A key from its 32 bytes (drawn from the injected randomness for a new key).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads a key written as base64 (standard or URL-safe, padded or not) or hex of exactly
    /// 32 bytes, surrounding whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| malformed())?
        } else {
            let unpadded = text.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(unpadded)
                .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(unpadded))
                .map_err(|_| malformed())?
        };
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| malformed())?;
        Ok(Self(bytes))
    }

    /// The key as written to a key file: base64 of its 32 bytes.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// This key's fingerprint.
    pub fn id(&self) -> KeyId {
        let digest = Sha256::new()
            .chain_update(b"consento master key id\0")
            .chain_update(self.0)
            .finalize();
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        KeyId(id)
    }

    /// Seals `plain` for the place `slot`, with a fresh random `nonce`.
    pub fn seal(&self, slot: &Slot<'_>, nonce: [u8; NONCE_LEN], plain: &[u8]) -> Vec<u8> {
        let id = self.id();
        let mut out = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&id.0);
        out.extend_from_slice(&nonce);
        let aad = slot.associated_data(id);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        // Encryption with a valid key and nonce length fails only past the AEAD's length limit
        // (2^38 bytes), which no secret comes near; an empty envelope then opens to nothing.
        match cipher.encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plain,
                aad: &aad,
            },
        ) {
            Ok(sealed) => out.extend_from_slice(&sealed),
            Err(_) => out.clear(),
        }
        out
    }

    /// Opens an envelope sealed for `slot`.
    pub fn open(&self, slot: &Slot<'_>, envelope: &[u8]) -> Result<Vec<u8>, SealError> {
        let id = envelope_key_id(envelope).ok_or(SealError::Malformed)?;
        if id != self.id() {
            return Err(SealError::OtherKey(id));
        }
        if envelope.len() < HEADER_LEN + TAG_LEN {
            return Err(SealError::Malformed);
        }
        let nonce: [u8; NONCE_LEN] = envelope[1 + ID_LEN..HEADER_LEN]
            .try_into()
            .map_err(|_| SealError::Malformed)?;
        let aad = slot.associated_data(id);
        XChaCha20Poly1305::new((&self.0).into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &envelope[HEADER_LEN..],
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Tampered)
    }

    /// As [`MasterKey::seal`], written as text for a text column: `sealed:` + base64.
    pub fn seal_text(&self, slot: &Slot<'_>, nonce: [u8; NONCE_LEN], plain: &str) -> String {
        format!(
            "{TEXT_PREFIX}{}",
            STANDARD.encode(self.seal(slot, nonce, plain.as_bytes()))
        )
    }

    /// Opens a value written by [`MasterKey::seal_text`].
    pub fn open_text(&self, slot: &Slot<'_>, text: &str) -> Result<String, SealError> {
        let envelope = text_envelope(text).ok_or(SealError::Malformed)?;
        String::from_utf8(self.open(slot, &envelope)?).map_err(|_| SealError::Malformed)
    }
}

/// The key id an envelope names, if it is one.
pub fn envelope_key_id(envelope: &[u8]) -> Option<KeyId> {
    if envelope.len() < HEADER_LEN || envelope[0] != VERSION {
        return None;
    }
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&envelope[1..1 + ID_LEN]);
    Some(KeyId(id))
}

/// Whether a text column's value is sealed (as opposed to a secret stored in clear before
/// sealing existed).
pub fn is_sealed_text(text: &str) -> bool {
    text_envelope(text).is_some_and(|e| envelope_key_id(&e).is_some())
}

fn text_envelope(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text.strip_prefix(TEXT_PREFIX)?).ok()
}

fn malformed() -> DomainError {
    DomainError::invalid("master_key", "must be base64 or hex of exactly 32 bytes")
}

/// Where a sealed value lives: it opens only there.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The row's key, as text.
    pub row: &'a str,
}

impl<'a> Slot<'a> {
    /// The place `table.column` of the row keyed `row`.
    pub fn new(table: &'static str, column: &'static str, row: &'a str) -> Self {
        Self { table, column, row }
    }

    fn associated_data(&self, id: KeyId) -> Vec<u8> {
        let mut aad = Vec::with_capacity(64);
        aad.extend_from_slice(b"consento-sealed-v1\0");
        aad.extend_from_slice(&id.0);
        for part in [self.table, self.column, self.row] {
            aad.push(0);
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

/// Why an envelope did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not an envelope at all.
    #[error("not a sealed value")]
    Malformed,
    /// Sealed under another master key (the one with this id).
    #[error("sealed under another master key ({0})")]
    OtherKey(KeyId),
    /// Altered, or moved from the place it was sealed for.
    #[error("sealed value altered or moved")]
    Tampered,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(row: &str) -> Slot<'_> {
        Slot::new("link_keys", "secret", row)
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_place_under_its_own_key() {
        let key = MasterKey::from_bytes([7; 32]);
        let sealed = key.seal(&slot("1"), [1; NONCE_LEN], b"secret bytes");
        assert_eq!(key.open(&slot("1"), &sealed).unwrap(), b"secret bytes");
        assert_eq!(key.open(&slot("2"), &sealed), Err(SealError::Tampered));
        let other = MasterKey::from_bytes([8; 32]);
        assert_eq!(
            other.open(&slot("1"), &sealed),
            Err(SealError::OtherKey(key.id()))
        );
        assert!(!sealed.windows(12).any(|w| w == b"secret bytes"));
    }

    #[test]
    fn a_key_is_read_from_hex_or_base64_of_32_bytes_only() {
        let key = MasterKey::from_bytes([0xab; 32]);
        assert_eq!(MasterKey::parse(&key.to_base64()).unwrap(), key);
        assert_eq!(MasterKey::parse(&"ab".repeat(32)).unwrap(), key);
        assert!(MasterKey::parse("short").is_err());
        assert!(MasterKey::parse(&"ab".repeat(31)).is_err());
        let text = key.seal_text(&slot("x"), [2; NONCE_LEN], "whsec_abc");
        assert!(is_sealed_text(&text));
        assert!(!is_sealed_text("whsec_abc"));
        assert_eq!(key.open_text(&slot("x"), &text).unwrap(), "whsec_abc");
    }
}
