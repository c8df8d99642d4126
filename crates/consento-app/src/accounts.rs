//! Creating console accounts, hashing and checking their passwords, and resetting them, for the console's Setup pages and
//! the command line alike (the first administrator of a new installation, `consento users`).
//! Passwords are hashed here with Argon2id; a generated one-time password must be replaced at
//! the first login.

use consento_domain::{Password, Role, Username};
use consento_store::{NewUser, Store, User};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::AppError;

/// The administrator made at the first start of an empty database.
#[derive(Debug)]
pub enum FirstAdmin {
    /// With a one-time password, to be shown once.
    Generated {
        /// Its login name.
        username: String,
        /// The one-time password.
        password: String,
    },
    /// With the password the environment gave.
    FromEnvironment {
        /// Its login name.
        username: String,
    },
}

/// The username of the first administrator.
pub const FIRST_ADMIN: &str = "admin";

/// Creates the first administrator when there is no account at all; nothing otherwise.
pub async fn first_admin(
    store: &Store,
    password: Option<String>,
) -> Result<Option<FirstAdmin>, AppError> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let username = Username::parse(FIRST_ADMIN)?;
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => (Password::new(&p, &username)?, false),
        None => (one_time_password(store, &username)?, true),
    };
    let created = create(store, username, "", Role::Admin, &password, generated).await?;
    Ok(Some(if generated {
        FirstAdmin::Generated {
            username: created.username,
            password: password.expose().to_owned(),
        }
    } else {
        FirstAdmin::FromEnvironment {
            username: created.username,
        }
    }))
}

/// Creates an account with `password` hashed.
pub async fn create(
    store: &Store,
    username: Username,
    display_name: &str,
    role: Role,
    password: &Password,
    must_change_password: bool,
) -> Result<User, AppError> {
    let password_hash = hash_password(store, password)?;
    Ok(store
        .create_user(NewUser {
            username,
            display_name: display_name.to_owned(),
            role,
            password_hash,
            must_change_password,
        })
        .await?)
}

/// Gives an account a new one-time password, to be shown once: the next login must replace it,
/// and every session of the account ends (whoever held one must sign in again).
pub async fn reset_password(store: &Store, user: &User) -> Result<Password, AppError> {
    let username = Username::parse(&user.username)?;
    let password = one_time_password(store, &username)?;
    let hash = hash_password(store, &password)?;
    store.set_password(user.id, &hash, true, None).await?;
    Ok(password)
}

/// A one-time password: 20 characters from an alphabet without look-alikes (no 0/o, 1/l/i), about
/// 99 bits, in groups of five for reading aloud.
pub fn one_time_password(store: &Store, username: &Username) -> Result<Password, AppError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut chars = Vec::with_capacity(20);
    while chars.len() < 20 {
        for b in store.random_bytes::<32>()? {
            // Rejection sampling keeps every character equally likely.
            if usize::from(b) < 248 && chars.len() < 20 {
                chars.push(ALPHABET[usize::from(b) % ALPHABET.len()]);
            }
        }
    }
    let text = chars
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    Ok(Password::new(&text, username)?)
}

/// Hashes a password with Argon2id (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane, the
/// OWASP Password Storage Cheat Sheet's minimum) and a 16-byte salt from the store's randomness.
pub fn hash_password(store: &Store, password: &Password) -> Result<String, AppError> {
    let salt = SaltString::encode_b64(&store.random_bytes::<16>()?)
        .map_err(|e| AppError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, verified against when the username does not exist, so that the
/// answer takes as long as for a real account (no user enumeration by timing).
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$o4LbtzSt6X3ldz8Uo8kJ+GT7cwR1XRMVG5B3IfyzSmU";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_parses_and_matches_nothing_typed() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
        assert!(!verify_password("password", DECOY_HASH));
    }
}
