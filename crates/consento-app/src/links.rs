//! Personal links: the unsubscribe and preference-center links a mail sender puts in each email,
//! and the `List-Unsubscribe` header values built from them (RFC 2369, RFC 8058); and the link
//! to a held message's page in the console, sent to whoever sent the message.
//!
//! A link's token names a contact, optionally one consent type, and what the link is for; it
//! carries no personal data in clear and cannot be forged or altered: the three are sealed with
//! XChaCha20-Poly1305 under a key of the store's keyring (`consento_store::LinkKey`), with a
//! 192-bit random nonce from the store's injected entropy. The token is
//! `base64url(key id ‖ nonce ‖ ciphertext ‖ tag)`, the key id (4 bytes, big-endian) in clear so
//! that the right key opens it, and bound to the ciphertext as associated data.
//!
//! A token that was altered, cut short, sealed by another installation's key, or by a retired
//! key opens to nothing, and the pages answer it exactly as they answer a contact that does not
//! exist: the token reveals nothing, and neither does its refusal.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use consento_domain::{ConsentTypeId, ContactId};
use consento_store::{LinkSecret, Store, StoreError};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `/u/{token}`: the one-click unsubscribe (RFC 8058) and its page.
    Unsubscribe,
    /// `/p/{token}`: the preference center.
    Preferences,
}

impl Purpose {
    fn byte(self) -> u8 {
        match self {
            Self::Unsubscribe => 1,
            Self::Preferences => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Unsubscribe),
            2 => Some(Self::Preferences),
            _ => None,
        }
    }
}

/// What a link's token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Whose link.
    pub contact: ContactId,
    /// The one consent type it is about, if any (an unsubscribe link for one newsletter).
    pub type_id: Option<ConsentTypeId>,
    /// What it is for.
    pub purpose: Purpose,
}

/// A link opened: what it names, and the key that sealed it (kept with the evidence of what
/// the person did through it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// What the token names.
    pub link: Link,
    /// The id of the key that sealed it.
    pub key_id: u32,
}

const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// purpose, contact id, and the type id when there is one.
const SHORT_PLAIN: usize = 1 + 16;
const LONG_PLAIN: usize = 1 + 16 + 16;
/// The longest token there is, in characters: anything longer is refused before decoding.
const MAX_TOKEN_CHARS: usize = (KEY_ID_LEN + NONCE_LEN + LONG_PLAIN + TAG_LEN).div_ceil(3) * 4;

/// Associated data: the format's name and the key id, so that neither can be changed.
fn aad(key_id: u32) -> Vec<u8> {
    let mut aad = b"consento-link-v1".to_vec();
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad
}

/// Seals `link` under key `key_id` with `nonce` (which must never repeat under one key: 24
/// random bytes make that certain in practice).
pub fn seal_with(key_id: u32, key: &LinkSecret, nonce: [u8; NONCE_LEN], link: &Link) -> String {
    let mut plain = Vec::with_capacity(LONG_PLAIN);
    plain.push(link.purpose.byte());
    plain.extend_from_slice(link.contact.0.as_bytes());
    if let Some(t) = link.type_id {
        plain.extend_from_slice(t.0.as_bytes());
    }
    seal_plain(key_id, key, nonce, &plain)
}

/// Seals `plain` (a purpose byte and the ids it names) into a token.
fn seal_plain(key_id: u32, key: &LinkSecret, nonce: [u8; NONCE_LEN], plain: &[u8]) -> String {
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let aad = aad(key_id);
    // Encryption with a valid key and a plaintext this small cannot fail; were it to, the token
    // would carry no ciphertext and open to nothing.
    let sealed = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .unwrap_or_default();
    let mut raw = Vec::with_capacity(KEY_ID_LEN + NONCE_LEN + sealed.len());
    raw.extend_from_slice(&key_id.to_be_bytes());
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(&sealed);
    URL_SAFE_NO_PAD.encode(raw)
}

/// Opens `token` with `key`: its key id and plaintext, `None` unless that key sealed it.
fn open_plain(token: &str, key: &LinkSecret) -> Option<(u32, Vec<u8>)> {
    let (key_id, nonce, sealed) = split(token)?;
    let cipher = XChaCha20Poly1305::new(&(*key).into());
    let plain = cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &sealed,
                aad: &aad(key_id),
            },
        )
        .ok()?;
    Some((key_id, plain))
}

/// The parts of a token: its key id, nonce and sealed bytes; `None` if it cannot be a token.
fn split(token: &str) -> Option<(u32, [u8; NONCE_LEN], Vec<u8>)> {
    if token.len() > MAX_TOKEN_CHARS {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    let sealed_len = raw.len().checked_sub(KEY_ID_LEN + NONCE_LEN)?;
    if sealed_len != SHORT_PLAIN + TAG_LEN && sealed_len != LONG_PLAIN + TAG_LEN {
        return None;
    }
    let key_id = u32::from_be_bytes(raw.get(..KEY_ID_LEN)?.try_into().ok()?);
    let nonce: [u8; NONCE_LEN] = raw
        .get(KEY_ID_LEN..KEY_ID_LEN + NONCE_LEN)?
        .try_into()
        .ok()?;
    Some((key_id, nonce, raw.get(KEY_ID_LEN + NONCE_LEN..)?.to_vec()))
}

/// The purpose byte of a held message's token: not a [`Purpose`], so that such a token never
/// opens as a person's link, nor theirs as one.
const HELD_MESSAGE: u8 = 3;

/// Seals the id of held message `id` under key `key_id` with `nonce`: the token of its page in
/// the console, sent to the message's sender. It names the message and nothing else; the page
/// it leads to still needs a signed-in operator (the token is no credential).
pub fn seal_held_with(
    key_id: u32,
    key: &LinkSecret,
    nonce: [u8; NONCE_LEN],
    id: uuid::Uuid,
) -> String {
    let mut plain = Vec::with_capacity(SHORT_PLAIN);
    plain.push(HELD_MESSAGE);
    plain.extend_from_slice(id.as_bytes());
    seal_plain(key_id, key, nonce, &plain)
}

/// Opens a held message's token with `key`: the message's id, `None` unless it is exactly such
/// a token that key sealed.
pub fn open_held_with(token: &str, key: &LinkSecret) -> Option<uuid::Uuid> {
    let (_, plain) = open_plain(token, key)?;
    if plain.len() != SHORT_PLAIN || plain.first() != Some(&HELD_MESSAGE) {
        return None;
    }
    uuid::Uuid::from_slice(plain.get(1..17)?).ok()
}

/// The token of held message `id`'s console page, sealed under the store's sealing key.
pub async fn seal_held(store: &Store, id: uuid::Uuid) -> Result<String, StoreError> {
    let (key_id, key) = store.link_sealing_key().await?;
    Ok(seal_held_with(key_id, &key, store.random_bytes()?, id))
}

/// The held message a token names: `None` for anything but such a token sealed by a key of this
/// installation that is not retired.
pub async fn open_held(store: &Store, token: &str) -> Result<Option<uuid::Uuid>, StoreError> {
    let Some(key_id) = key_id_of(token) else {
        return Ok(None);
    };
    let Some(key) = store.link_opening_key(key_id).await? else {
        return Ok(None);
    };
    Ok(open_held_with(token, &key))
}

/// The key id a token names, if it can be a token at all.
pub fn key_id_of(token: &str) -> Option<u32> {
    split(token).map(|(id, _, _)| id)
}

/// Opens `token` with `key` (the secret of the key it names): `None` unless it is exactly a
/// token that key sealed.
pub fn open_with(token: &str, key: &LinkSecret) -> Option<Opened> {
    let (key_id, plain) = open_plain(token, key)?;
    let purpose = Purpose::from_byte(*plain.first()?)?;
    let uuid = |range: std::ops::Range<usize>| {
        plain
            .get(range)
            .and_then(|b| uuid::Uuid::from_slice(b).ok())
    };
    let contact = ContactId(uuid(1..17)?);
    let type_id = match plain.len() {
        SHORT_PLAIN => None,
        LONG_PLAIN => Some(ConsentTypeId(uuid(17..33)?)),
        _ => return None,
    };
    Some(Opened {
        link: Link {
            contact,
            type_id,
            purpose,
        },
        key_id,
    })
}

/// Seals `link` under the store's sealing key (the newest not retired).
pub async fn seal(store: &Store, link: &Link) -> Result<String, StoreError> {
    let (key_id, key) = store.link_sealing_key().await?;
    Ok(seal_with(key_id, &key, store.random_bytes()?, link))
}

/// Opens `token` with the store's keyring: `None` for anything but a token sealed by a key of
/// this installation that is not retired.
pub async fn open(store: &Store, token: &str) -> Result<Option<Opened>, StoreError> {
    let Some(key_id) = key_id_of(token) else {
        return Ok(None);
    };
    let Some(key) = store.link_opening_key(key_id).await? else {
        return Ok(None);
    };
    Ok(open_with(token, &key))
}

/// The value of `List-Unsubscribe-Post` (RFC 8058 §3.1): it tells the mailbox provider that a
/// POST of exactly this body to the HTTPS URI of `List-Unsubscribe` unsubscribes at once.
pub const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

/// A contact's links and the header values a mail sender adds to each message, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailLinks {
    /// `https://…/u/TOKEN`: the unsubscribe page, and the one-click POST target.
    pub unsubscribe_url: String,
    /// `https://…/p/TOKEN`: the preference center.
    pub preferences_url: String,
    /// `List-Unsubscribe` (RFC 2369 §3.2): the unsubscribe URL in angle brackets, alone (RFC 8058
    /// §3.1 needs one HTTPS URI; no mailto is offered, as nothing here reads a mailbox).
    pub list_unsubscribe: String,
    /// `List-Unsubscribe-Post` (RFC 8058 §3.1).
    pub list_unsubscribe_post: &'static str,
}

/// The links of `contact` (unsubscribing from `type_id`, or from every newsletter), absolute
/// under `base_url` (the public address of this server; RFC 8058 wants it HTTPS, and only a
/// test server on loopback uses http).
pub async fn mail_links(
    store: &Store,
    base_url: &str,
    contact: ContactId,
    type_id: Option<ConsentTypeId>,
) -> Result<MailLinks, StoreError> {
    let unsubscribe = seal(
        store,
        &Link {
            contact,
            type_id,
            purpose: Purpose::Unsubscribe,
        },
    )
    .await?;
    let preferences = preferences_token(store, contact).await?;
    let unsubscribe_url = absolute(base_url, &format!("/u/{unsubscribe}"));
    Ok(MailLinks {
        list_unsubscribe: format!("<{unsubscribe_url}>"),
        preferences_url: absolute(base_url, &format!("/p/{preferences}")),
        unsubscribe_url,
        list_unsubscribe_post: ONE_CLICK,
    })
}

/// A new preference-center token of `contact`.
pub async fn preferences_token(store: &Store, contact: ContactId) -> Result<String, StoreError> {
    seal(
        store,
        &Link {
            contact,
            type_id: None,
            purpose: Purpose::Preferences,
        },
    )
    .await
}

/// `path` under `base_url`, whatever slash the base ends with.
pub fn absolute(base_url: &str, path: &str) -> String {
    format!("{}{path}", base_url.trim_end_matches('/'))
}

/// A client address as evidence may keep it: IPv4 cut to its /24, IPv6 to its /48 (the network,
/// not the device: enough to tell a provider's server from a person's line, too little to name
/// the person).
pub fn truncated_ip(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{net}/48")
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn link(type_id: bool, purpose: Purpose) -> Link {
        Link {
            contact: ContactId(uuid::Uuid::from_u128(
                0x0190_a000_0000_7000_8000_0000_0000_0001,
            )),
            type_id: type_id.then(|| {
                ConsentTypeId(uuid::Uuid::from_u128(
                    0x0190_a000_0000_7000_8000_0000_0000_0002,
                ))
            }),
            purpose,
        }
    }

    const KEY: LinkSecret = [7; 32];

    #[test]
    fn a_sealed_link_opens_to_what_it_names_and_shows_nothing_of_it_in_clear() {
        for (with_type, purpose) in [
            (false, Purpose::Unsubscribe),
            (true, Purpose::Unsubscribe),
            (false, Purpose::Preferences),
        ] {
            let l = link(with_type, purpose);
            let token = seal_with(3, &KEY, [9; 24], &l);
            assert!(token.len() <= MAX_TOKEN_CHARS, "{token}");
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(open_with(&token, &KEY), Some(Opened { link: l, key_id: 3 }));
            let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
            let contact = l.contact.0.as_bytes();
            assert!(!raw.windows(16).any(|w| w == contact));
        }
    }

    #[test]
    fn every_altered_or_shortened_token_and_another_key_open_to_nothing() {
        let token = seal_with(1, &KEY, [9; 24], &link(true, Purpose::Unsubscribe));
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..raw.len() {
            for bit in [0x01, 0x80] {
                let mut bad = raw.clone();
                bad[i] ^= bit;
                assert_eq!(open_with(&URL_SAFE_NO_PAD.encode(&bad), &KEY), None, "{i}");
            }
        }
        for len in 0..raw.len() {
            assert_eq!(open_with(&URL_SAFE_NO_PAD.encode(&raw[..len]), &KEY), None);
        }
        assert_eq!(open_with(&token, &[8; 32]), None);
        assert_eq!(open_with(&format!("{token}A"), &KEY), None);
        assert_eq!(open_with("not a token!", &KEY), None);
        assert_eq!(open_with(&"A".repeat(10_000), &KEY), None);
    }

    #[test]
    fn a_held_message_token_opens_to_its_id_and_never_as_a_persons_link_nor_theirs_as_one() {
        let id = uuid::Uuid::from_u128(0x0190_a000_0000_7000_8000_0000_0000_0003);
        let token = seal_held_with(2, &KEY, [5; 24], id);
        assert_eq!(open_held_with(&token, &KEY), Some(id));
        assert_eq!(open_with(&token, &KEY), None);
        assert_eq!(open_held_with(&token, &[8; 32]), None);
        let person = seal_with(2, &KEY, [5; 24], &link(false, Purpose::Preferences));
        assert_eq!(open_held_with(&person, &KEY), None);
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                open_held_with(&URL_SAFE_NO_PAD.encode(&bad), &KEY),
                None,
                "{i}"
            );
        }
    }

    #[test]
    fn addresses_are_cut_to_their_network() {
        assert_eq!(
            truncated_ip("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            truncated_ip("2001:db8:abcd:12:1:2:3:4".parse().unwrap()),
            "2001:db8:abcd::/48"
        );
        assert_eq!(
            truncated_ip("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0/24"
        );
    }
}
