//! Where the master key comes from (secrets are encrypted under a master key kept
//! outside the database; GDPR Art. 32(1)(a)). In order: the `CONSENTO_MASTER_KEY` variable
//! (base64 or hex of 32 bytes), a systemd credential (`$CREDENTIALS_DIRECTORY/consento-master-key`,
//! `LoadCredential=` in systemd.exec(5)), else a key file: `[keys] master_key_file`, by default
//! `consento-master-key` beside the configuration file, or beside the SQLite database when there
//! is no configuration file (the working directory for PostgreSQL). The file is made on the first
//! start, readable by its owner only; an existing file readable by others, or not a key, stops
//! the start: a key anyone on the host can read protects nothing.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use consento_domain::sealed::MasterKey;
use consento_store::Entropy;

use crate::config::ServeConfig;

/// The environment variable holding the master key.
pub const ENV_VAR: &str = "CONSENTO_MASTER_KEY";
/// The name of the systemd credential, and of the default key file.
pub const FILE_NAME: &str = "consento-master-key";

/// Where the master key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The `CONSENTO_MASTER_KEY` variable.
    Env,
    /// A systemd credential, at this path.
    Credential(PathBuf),
    /// A key file, at this path (made now when `created`).
    File {
        /// The file.
        path: PathBuf,
        /// Whether this start made it.
        created: bool,
    },
}

impl std::fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env => write!(f, "the variable {ENV_VAR}"),
            Self::Credential(p) => write!(f, "the systemd credential {}", p.display()),
            Self::File { path, .. } => write!(f, "the key file {}", path.display()),
        }
    }
}

/// The key file the configuration names, or its default place.
pub fn key_file(config: &ServeConfig, config_file: Option<&Path>, database_url: &str) -> PathBuf {
    if let Some(path) = &config.keys.master_key_file {
        return path.clone();
    }
    let dir = match config_file {
        Some(file) => file.parent().map(Path::to_path_buf),
        None if !database_url.starts_with("postgres") => {
            let path = database_url
                .strip_prefix("sqlite://")
                .or_else(|| database_url.strip_prefix("sqlite:"))
                .unwrap_or(database_url);
            Path::new(path).parent().map(Path::to_path_buf)
        }
        None => None,
    };
    dir.filter(|d| !d.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."))
        .join(FILE_NAME)
}

/// The master key and where it came from: the variable, the credential, or the key file
/// (made when missing, with `entropy`'s bytes). Errors are one line naming the place.
pub fn master_key(
    config: &ServeConfig,
    config_file: Option<&Path>,
    database_url: &str,
    env: &dyn Fn(&str) -> Option<String>,
    entropy: &dyn Entropy,
) -> Result<(MasterKey, KeyOrigin), String> {
    if let Some(text) = env(ENV_VAR).filter(|t| !t.trim().is_empty()) {
        let key = MasterKey::parse(&text)
            .map_err(|_| format!("{ENV_VAR}: must be base64 or hex of exactly 32 bytes"))?;
        return Ok((key, KeyOrigin::Env));
    }
    if let Some(dir) = env("CREDENTIALS_DIRECTORY") {
        let path = Path::new(&dir).join(FILE_NAME);
        if path.is_file() {
            let key = read_key(&path, false)?;
            return Ok((key, KeyOrigin::Credential(path)));
        }
    }
    let path = key_file(config, config_file, database_url);
    match read_key(&path, true) {
        Ok(key) => Ok((
            key,
            KeyOrigin::File {
                path,
                created: false,
            },
        )),
        Err(_) if !path.exists() => {
            let mut bytes = [0u8; 32];
            entropy
                .fill(&mut bytes)
                .map_err(|_| "no randomness available for a new master key".to_owned())?;
            let key = MasterKey::from_bytes(bytes);
            write_key_file(&path, &key)?;
            Ok((
                key,
                KeyOrigin::File {
                    path,
                    created: true,
                },
            ))
        }
        Err(e) => Err(e),
    }
}

/// Reads a key file; with `private`, refuses one that the group or others may read.
fn read_key(path: &Path, private: bool) -> Result<MasterKey, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("master key file {shown}: {e}"))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "master key file {shown} is readable by others (mode {mode:o}): make it 600 (chmod 600)"
            ));
        }
    }
    let _ = (meta, private);
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("master key file {shown}: {e}"))?;
    MasterKey::parse(&text).map_err(|_| {
        format!("master key file {shown}: not a key (base64 or hex of exactly 32 bytes)")
    })
}

/// Writes `key` to a new file at `path`, readable and writable by its owner only; never over
/// an existing file.
pub fn write_key_file(path: &Path, key: &MasterKey) -> Result<(), String> {
    let shown = path.display();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create the master key file {shown}: {e}"))?;
    writeln!(file, "{}", key.to_base64())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("cannot write the master key file {shown}: {e}"))
}
