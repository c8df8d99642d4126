//! Creating console accounts and resetting their passwords, for the console's Setup pages and
//! the command line alike (the first administrator of a new installation, `consento users`).
//! Passwords are hashed here with Argon2id; a generated one-time password must be replaced at
//! the first login.

use consento_domain::{Password, Role, Username};
use consento_store::{NewUser, Store, User};

use super::page::PageError;
use super::session::hash_password;

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
) -> Result<Option<FirstAdmin>, PageError> {
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
) -> Result<User, PageError> {
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
pub async fn reset_password(store: &Store, user: &User) -> Result<Password, PageError> {
    let username = Username::parse(&user.username)?;
    let password = one_time_password(store, &username)?;
    let hash = hash_password(store, &password)?;
    store.set_password(user.id, &hash, true, None).await?;
    Ok(password)
}

/// A one-time password: 20 characters from an alphabet without look-alikes (no 0/o, 1/l/i), about
/// 99 bits, in groups of five for reading aloud.
pub fn one_time_password(store: &Store, username: &Username) -> Result<Password, PageError> {
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
