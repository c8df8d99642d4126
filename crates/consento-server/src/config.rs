//! The configuration of `consento serve`: defaults, then a TOML file, then `CONSENTO_…`
//! environment variables (nested keys with `__`, e.g. `CONSENTO_WEBHOOKS__MAX_ATTEMPTS`), then the
//! command line. An unknown key, in the file or the environment, is an error naming it: a
//! misspelt setting must not be silently ignored.

use std::net::SocketAddr;
use std::path::Path;

pub use consento_app::policy::Controller as ControllerConfig;
use consento_app::policy::{Policy, SubscriptionPolicy};
use consento_domain::{Locale, Zone};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Environment variables with the `CONSENTO_` prefix that belong to the command line (or to the
/// test suite), not to the server's configuration.
const NOT_CONFIG: &[&str] = &["operator", "config", "admin_password", "master_key"];

/// Variables of the test suites (`CONSENTO_TEST_…`) are not configuration either.
const TEST_PREFIX: &str = "test_";

/// Everything `consento serve` can be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The database: `sqlite:path/to/file.db` or `postgres://…`.
    pub database_url: String,
    /// PostgreSQL only: the schema to use instead of `public`.
    pub pg_schema: Option<String>,
    /// SQLite only: an fsync at every commit, so an acknowledged consent survives a power loss.
    pub sqlite_full_sync: bool,
    /// Connections in the read pool (PostgreSQL: the whole pool).
    pub max_connections: u32,
    /// Contacts whose decision facts are kept in memory, about 300 bytes each (0: every decision
    /// reads the database). Size it to the contacts that are asked about.
    pub decision_cache_entries: usize,
    /// SQLite only: the WAL's size in MiB past which bulk writes (demo, imports, bulk rules,
    /// retention) copy it into the database file and cut it back between their transactions.
    pub sqlite_wal_limit_mib: u64,
    /// The largest request body accepted, in bytes (a 10,000-recipient batch fits in 1 MiB).
    pub max_body_bytes: usize,
    /// `json` (one object per line, for log collectors) or `text`.
    pub log_format: LogFormat,
    /// Lowest level logged: `error`, `warn`, `info`, `debug`, `trace`.
    pub log_level: String,
    /// Seconds to let in-flight requests finish after a shutdown signal.
    pub shutdown_grace_seconds: u64,
    /// Webhook delivery.
    pub webhooks: WebhookConfig,
    /// The operator console.
    pub console: ConsoleConfig,
    /// The public pages people open from their emails.
    pub public: PublicConfig,
    /// Email to people (double opt-in confirmations): the SMTP server and the limits.
    pub mail: MailConfig,
    /// Data-subject requests: the holiday calendar their deadlines are counted on.
    pub requests: RequestsConfig,
    /// The data controller and what a person's export tells them (GDPR Art. 13–15).
    pub controller: ControllerConfig,
    /// Erasure (GDPR Art. 17): how long what an erasure keeps is kept.
    pub erasure: ErasureConfig,
    /// Retention per purpose (Art. 5(1)(e)): when a contact whose consents all ended is anonymised.
    pub retention: RetentionConfig,
    /// Where the office is: the time zone people read and type dates in.
    pub locale: LocaleConfig,
    /// The reverse proxies (CIDR blocks, IPv4 or IPv6; a bare address is one host) whose
    /// forwarding header names the client. Empty (the default): the header is ignored and the
    /// client is the TCP peer, since anyone can send the header. In the environment, a
    /// comma-separated list: `CONSENTO_TRUSTED_PROXIES=10.0.0.0/8,fd00::/8`.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// The header a trusted proxy names the client in: `x-forwarded-for` (the default) or
    /// `forwarded` (RFC 7239). Only one is read, the one the proxy overwrites or appends to, so
    /// that a client cannot slip in the other.
    pub proxy_header: ProxyHeader,
    /// HTTP connections: how long a client may take, how many may be open.
    pub http: HttpConfig,
    /// Where the master key is kept (crate::keys).
    pub keys: KeysConfig,
    /// The configuration file read, if any (the master key file's default place is beside it).
    #[serde(skip)]
    pub config_file: Option<std::path::PathBuf>,
    /// Imports of CRM exports (the console's upload and `consento import`).
    pub import: ImportConfig,
    /// Telemarketing: the hours calls may be placed at.
    pub telemarketing: TelemarketingConfig,
    /// The policy service for Postfix (off unless `listen` is set).
    pub postfix_policy: PostfixPolicyConfig,
    /// The enforcing SMTP relay: Consento as the CRM's outgoing mail server.
    pub relay: RelayConfig,
}

/// The action a Postfix recipient is decided for: Postfix asks at `RCPT TO`, before any header
/// is known, so whether a message is bulk cannot be read from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyAction {
    /// `email.single`: one person written to; without a consent, a reason is needed (held).
    #[serde(rename = "email.single")]
    EmailSingle,
    /// `email.bulk`: a newsletter; without a consent, refused.
    #[serde(rename = "email.bulk")]
    EmailBulk,
}

impl PolicyAction {
    /// The domain's action.
    pub fn action(self) -> consento_domain::Action {
        match self {
            Self::EmailSingle => consento_domain::Action::EmailSingle,
            Self::EmailBulk => consento_domain::Action::EmailBulk,
        }
    }
}

/// The policy service for Postfix (`check_policy_service inet:127.0.0.1:10040` in
/// `smtpd_recipient_restrictions`, see the README): each recipient decided, answered `DUNNO`
/// (allowed), rejected with the rule (blocked), or held until someone gives a reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostfixPolicyConfig {
    /// Where to listen for Postfix's policy requests (`127.0.0.1:10040`); absent: off. The
    /// protocol has no authentication: a loopback or private address only.
    pub listen: Option<SocketAddr>,
    /// The action recipients are decided for: `email.single` (the default) or `email.bulk`.
    pub default_action: PolicyAction,
    /// The path of Postfix's `postsuper`: set, Consento lets a held message go itself
    /// (`postsuper -H <queue id>`) once a reason is given, and removes a dropped one
    /// (`postsuper -d <queue id>`); unset, the administrator does (see the README).
    pub postsuper: Option<std::path::PathBuf>,
    /// The path of Postfix's `postqueue`, run as `postqueue -i <queue id>` after a release so
    /// that the message goes at once rather than at the next queue run; default: `postqueue`
    /// beside `postsuper`.
    pub postqueue: Option<std::path::PathBuf>,
    /// Hours a message waits for a reason before it is dropped and its sender told (48).
    pub hold_hours: u32,
    /// Milliseconds between two looks for held messages to let go, remove, or drop as expired.
    pub poll_interval_ms: u64,
    /// Policy connections served at once (each Postfix `smtpd` process keeps one).
    pub max_connections: u32,
}

impl Default for PostfixPolicyConfig {
    fn default() -> Self {
        Self {
            listen: None,
            default_action: PolicyAction::EmailSingle,
            postsuper: None,
            postqueue: None,
            hold_hours: 48,
            poll_interval_ms: 1000,
            max_connections: 256,
        }
    }
}

/// The enforcing SMTP relay (`[relay]`): a CRM sends its mail to Consento, which decides every
/// recipient, records what it justifies and hands each allowed copy to the upstream server. Off
/// while `listen` is absent. The upstream password is best given by the environment
/// (`CONSENTO_RELAY__UPSTREAM__PASSWORD`); it is never printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Where to accept SMTP submission (`0.0.0.0:587`); absent: no listener.
    pub listen: Option<SocketAddr>,
    /// The name the relay greets with and gives in `EHLO` answers.
    pub hostname: String,
    /// The certificate chain (PEM) offered by STARTTLS (RFC 3207); with `tls_key`, or neither.
    pub tls_cert: Option<std::path::PathBuf>,
    /// Its private key (PEM).
    pub tls_key: Option<std::path::PathBuf>,
    /// The action a recipient is decided for at `RCPT TO` and a message without a mailing
    /// list's marks is: `email.single` (the default) or `email.bulk` (a newsletter tool's
    /// relay).
    pub default_action: String,
    /// The largest message accepted, in bytes (SIZE, RFC 1870; default 25 MiB).
    pub max_message_bytes: u64,
    /// Recipients one message may have (more are answered 452, RFC 5321 §4.5.3.1.10).
    pub max_recipients: u32,
    /// Messages one token may send per minute (more are answered 451 until the minute ends).
    pub messages_per_minute: u32,
    /// SMTP connections served at once; more are answered 421 and closed.
    pub max_connections: u32,
    /// Seconds the relay waits for a command or a piece of a message (RFC 5321 §4.5.3.2: five
    /// minutes).
    pub command_timeout_seconds: u64,
    /// An address bulk copies also offer in `List-Unsubscribe` (`mailto:`, RFC 2369), beside
    /// the HTTPS one-click link; none by default (nothing here reads a mailbox).
    pub mailto_unsubscribe: Option<String>,
    /// Whether this process delivers the relay's outbox (several may; each copy goes once).
    pub deliver: bool,
    /// Milliseconds between polls of the outbox when it is empty.
    pub poll_interval_ms: u64,
    /// Copies claimed per poll.
    pub batch_size: u32,
    /// Attempts before a copy is given up (bounced).
    pub max_attempts: u32,
    /// The first retry's delay in seconds; each later one doubles, up to `max_backoff_seconds`.
    pub backoff_base_seconds: u64,
    /// The longest delay between two attempts, in seconds.
    pub max_backoff_seconds: u64,
    /// The server allowed copies are handed to.
    pub upstream: UpstreamConfig,
    /// DKIM signing of every copy (`[relay.dkim]`); none by default.
    pub dkim: Option<DkimConfig>,
    /// Hours a copy held for a reason waits before it is dropped and its sender told (48).
    pub hold_hours: u32,
}

/// The key a copy is signed with (RFC 6376), after its unsubscribe headers are written, so that
/// they are covered (RFC 8058 §4 asks for `List-Unsubscribe` and `List-Unsubscribe-Post` in
/// the signature).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    /// The signing domain (`d=`), the one in the senders' addresses.
    pub domain: String,
    /// The selector (`s=`): the key's public half is published at
    /// `<selector>._domainkey.<domain>`.
    pub selector: String,
    /// The private key, PEM (RSA in PKCS #1 or PKCS #8, Ed25519 in PKCS #8), readable by its
    /// owner only.
    pub private_key_file: std::path::PathBuf,
    /// The header fields signed (`h=`), besides `From`, `List-Unsubscribe` and
    /// `List-Unsubscribe-Post`, which always are; absent: From, To, Subject, Date,
    /// Message-ID, MIME-Version, Content-Type.
    #[serde(default)]
    pub headers: Option<Vec<String>>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            listen: None,
            hostname: "consento".to_owned(),
            tls_cert: None,
            tls_key: None,
            default_action: "email.single".to_owned(),
            max_message_bytes: 25 * 1024 * 1024,
            max_recipients: 100,
            messages_per_minute: 600,
            max_connections: 100,
            command_timeout_seconds: 300,
            mailto_unsubscribe: None,
            deliver: true,
            poll_interval_ms: 500,
            batch_size: 50,
            max_attempts: 10,
            backoff_base_seconds: 60,
            max_backoff_seconds: 6 * 3600,
            upstream: UpstreamConfig::default(),
            dkim: None,
            hold_hours: 48,
        }
    }
}

impl PostfixPolicyConfig {
    /// The `postqueue` to run after a release: the one configured, else the one beside
    /// `postsuper`.
    pub fn postqueue_path(&self) -> std::path::PathBuf {
        match (&self.postqueue, &self.postsuper) {
            (Some(path), _) => path.clone(),
            (None, Some(postsuper)) => postsuper.with_file_name("postqueue"),
            (None, None) => std::path::PathBuf::from("/usr/sbin/postqueue"),
        }
    }

    fn check(&self) -> Result<(), String> {
        let max = consento_domain::held::MAX_HOLD_HOURS;
        if !(1..=max).contains(&self.hold_hours) {
            return Err(format!(
                "config: postfix_policy.hold_hours: must be 1 to {max}"
            ));
        }
        if !(10..=3_600_000).contains(&self.poll_interval_ms) {
            return Err(
                "config: postfix_policy.poll_interval_ms: must be 10 to 3600000".to_owned(),
            );
        }
        if !(1..=100_000).contains(&self.max_connections) {
            return Err("config: postfix_policy.max_connections: must be 1 to 100000".to_owned());
        }
        for (key, path) in [
            ("postsuper", &self.postsuper),
            ("postqueue", &self.postqueue),
        ] {
            if let Some(path) = path
                && !path.is_absolute()
            {
                return Err(format!(
                    "config: postfix_policy.{key}: must be an absolute path (/usr/sbin/{key})"
                ));
            }
        }
        Ok(())
    }
}

impl RelayConfig {
    /// Refuses what would silently misbehave: a listener with nowhere to deliver, half a TLS
    /// pair, plain text to a remote upstream, limits of zero or beyond reason.
    fn check(&self) -> Result<(), String> {
        let within = |key: &str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(format!("config: relay.{key}: must be {min} to {max}"))
            }
        };
        within("max_message_bytes", self.max_message_bytes, 1024, 1 << 30)?;
        within("max_recipients", u64::from(self.max_recipients), 1, 10_000)?;
        within(
            "messages_per_minute",
            u64::from(self.messages_per_minute),
            1,
            1_000_000,
        )?;
        within(
            "max_connections",
            u64::from(self.max_connections),
            1,
            100_000,
        )?;
        within(
            "command_timeout_seconds",
            self.command_timeout_seconds,
            1,
            3600,
        )?;
        within("batch_size", u64::from(self.batch_size), 1, 1000)?;
        within(
            "hold_hours",
            u64::from(self.hold_hours),
            1,
            u64::from(consento_domain::held::MAX_HOLD_HOURS),
        )?;
        within("max_attempts", u64::from(self.max_attempts), 1, 100)?;
        within(
            "upstream.timeout_seconds",
            self.upstream.timeout_seconds,
            1,
            600,
        )?;
        self.action()?;
        if self.hostname.trim().is_empty()
            || !self
                .hostname
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err("config: relay.hostname: must be a host name".to_owned());
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("config: relay.tls_cert: give tls_cert and tls_key together".to_owned());
        }
        if let Some(dkim) = &self.dkim {
            let name = |v: &str| {
                !v.is_empty()
                    && v.split('.').all(|l| {
                        !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
            };
            if !name(&dkim.domain) {
                return Err("config: relay.dkim.domain: must be a domain name".to_owned());
            }
            if !name(&dkim.selector) {
                return Err("config: relay.dkim.selector: must be a DNS label".to_owned());
            }
            if dkim
                .headers
                .iter()
                .flatten()
                .any(|h| h.is_empty() || !h.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
            {
                return Err("config: relay.dkim.headers: must be header field names".to_owned());
            }
        }
        if let Some(mailto) = &self.mailto_unsubscribe
            && consento_domain::Email::parse(mailto).is_err()
        {
            return Err("config: relay.mailto_unsubscribe: must be an email address".to_owned());
        }
        if self.listen.is_some() && self.upstream.host.trim().is_empty() {
            return Err(
                "config: relay.upstream.host: name the server the relay hands mail to".to_owned(),
            );
        }
        if !self.upstream.host.trim().is_empty()
            && self.upstream.tls == MailTls::None
            && !is_loopback(&self.upstream.host)
        {
            return Err(
                "config: relay.upstream.tls: none is only for a server on this machine (localhost, 127.0.0.1, ::1)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// `default_action` as an action.
    pub fn action(&self) -> Result<consento_domain::Action, String> {
        match consento_domain::Action::parse(&self.default_action) {
            Ok(a @ (consento_domain::Action::EmailSingle | consento_domain::Action::EmailBulk)) => {
                Ok(a)
            }
            _ => Err("config: relay.default_action: must be email.single or email.bulk".to_owned()),
        }
    }
}

/// The server the relay hands allowed copies to (a smarthost: the provider's submission
/// server, or a local Postfix).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// Its host name; empty: no delivery.
    pub host: String,
    /// Its port: 587 for STARTTLS, 465 for TLS, 25 for a local server.
    pub port: u16,
    /// `none` (loopback only), `starttls` or `tls`.
    pub tls: MailTls,
    /// The user name, if it wants one.
    pub username: Option<String>,
    /// The password (from `CONSENTO_RELAY__UPSTREAM__PASSWORD`).
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// Seconds a delivery may take before it counts as failed.
    pub timeout_seconds: u64,
}

/// Hides the password.
impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            tls: MailTls::Starttls,
            username: None,
            password: None,
            timeout_seconds: 60,
        }
    }
}

/// Telemarketing (phone calls a marketing consent allows). `calling_hours` holds one window per
/// kind of day, `HH:MM-HH:MM` or `none`: `weekday`, `saturday`, `pre_holiday` (the day before a
/// public holiday), `sunday`, `holiday`. Those left out keep the Italian code of conduct's:
/// weekdays 09:00-20:00, Saturdays and days before a holiday 10:00-19:00, none on Sundays and
/// holidays. Days are local days of `locale.time_zone`, on the calendar of `requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemarketingConfig {
    /// The windows per kind of day.
    pub calling_hours: consento_domain::calling_hours::CallingWindows,
    /// Whether a telemarketing call to an Italian number needs a valid check of the number
    /// against the Registro pubblico delle opposizioni (L. 5/2018, DPR 26/2022): true by default;
    /// false only for a controller the register does not concern.
    pub rpo_required: bool,
    /// How long a check counts and the grace after a contract ends (15 and 30 days by default,
    /// the law's; shorter is allowed).
    pub rpo: consento_domain::rpo::RpoPolicy,
    /// Days a silent call keeps telemarketing calls away from its number (7 by default; 1 to
    /// 90).
    pub silent_call_cooldown_days: u32,
    /// Days a call the person asked for may be placed in despite the opt-out register, unless
    /// a call reaches them first (7 by default; 1 to 30).
    pub requested_call_days: u32,
}

impl Default for TelemarketingConfig {
    fn default() -> Self {
        Self {
            calling_hours: Default::default(),
            rpo_required: true,
            rpo: Default::default(),
            silent_call_cooldown_days: 7,
            requested_call_days: 7,
        }
    }
}

/// Imports of CRM exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportConfig {
    /// The largest cell accepted, in KiB (default 64): a line with a larger one is a bad line,
    /// named with its column (`consento import --max-cell-kib` wins over it).
    pub max_cell_kib: u32,
}

impl Default for ImportConfig {
    fn default() -> Self {
        Self {
            max_cell_kib: (consento_app::import::DEFAULT_MAX_CELL_BYTES / 1024) as u32,
        }
    }
}

impl ImportConfig {
    /// The largest value: 64 MiB, so that a cell still fits the memory of a small server.
    pub const MAX_CELL_KIB: u32 = 64 * 1024;

    fn check(&self) -> Result<(), String> {
        if (1..=Self::MAX_CELL_KIB).contains(&self.max_cell_kib) {
            Ok(())
        } else {
            Err(format!(
                "config: import.max_cell_kib: must be 1 to {}",
                Self::MAX_CELL_KIB
            ))
        }
    }
}

/// The header that carries the client's address through a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239 §5.2).
    Forwarded,
}

/// A list given as a TOML array or, from the environment, as one comma-separated string.
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Given::deserialize(d)? {
        Given::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Given::Many(v) => v,
    })
}

/// HTTP connections. A client that opens a connection and then sends nothing, or a request's
/// head a byte at a time, would otherwise hold it for ever; enough of them starve everyone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// How long a request's head (request line and headers) may take to arrive, from the
    /// connection's opening or from its first byte on a kept-alive connection: `10s`, `500ms`.
    pub header_read_timeout: String,
    /// How long a kept-alive connection may wait, idle, for its next request: `60s`, `2m`.
    pub idle_timeout: String,
    /// Connections served at once; further ones wait in the listening socket's backlog, unread,
    /// until one closes.
    pub max_connections: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: "10s".to_owned(),
            idle_timeout: "60s".to_owned(),
            max_connections: 1024,
        }
    }
}

impl HttpConfig {
    fn check(&self) -> Result<(), String> {
        self.header_read()?;
        self.idle()?;
        if !(1..=1_000_000).contains(&self.max_connections) {
            return Err("config: http.max_connections: must be 1 to 1000000".to_owned());
        }
        Ok(())
    }

    /// `header_read_timeout` as a duration.
    pub fn header_read(&self) -> Result<std::time::Duration, String> {
        parse_duration(&self.header_read_timeout)
            .map_err(|e| format!("config: http.header_read_timeout: {e}"))
    }

    /// `idle_timeout` as a duration.
    pub fn idle(&self) -> Result<std::time::Duration, String> {
        parse_duration(&self.idle_timeout).map_err(|e| format!("config: http.idle_timeout: {e}"))
    }
}

/// A duration written as a whole number and a unit: `500ms`, `10s`, `2m`, `1h`; more than zero
/// and at most a day.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| "must be a number and a unit: 500ms, 10s, 2m, 1h".to_owned())?;
    let millis = match unit.trim() {
        "ms" => Some(number),
        "s" => number.checked_mul(1000),
        "m" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        _ => return Err("must be a number and a unit: 500ms, 10s, 2m, 1h".to_owned()),
    };
    match millis {
        Some(ms) if (1..=86_400_000).contains(&ms) => Ok(std::time::Duration::from_millis(ms)),
        _ => Err("must be more than 0 and at most 24h".to_owned()),
    }
}

/// `[keys]`: the master key that seals the database's secrets (crate::keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// The key file (made on the first start, mode 600). Default: `consento-master-key` beside
    /// the configuration file, or beside the SQLite database.
    pub master_key_file: Option<std::path::PathBuf>,
}

/// The office's time zone. Every date a person reads (console, CLI, emails) or types (a consent's
/// date, a request's day of receipt, an audit filter) is meant in it, and every rule that depends
/// on a day ("today", Art. 12(3) deadlines, retention) counts its local days; instants are stored
/// in UTC, and machine formats (exports, receipts, webhooks, the API's answers) stay RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LocaleConfig {
    /// An IANA time zone name: `Europe/Rome` (the default), `Europe/Zurich`, `UTC`.
    pub time_zone: String,
}

impl Default for LocaleConfig {
    fn default() -> Self {
        Self {
            time_zone: "Europe/Rome".to_owned(),
        }
    }
}

impl LocaleConfig {
    /// Refuses a name the IANA database does not know.
    fn check(&self) -> Result<(), String> {
        self.zone().map(|_| ())
    }

    /// The configured zone.
    pub fn zone(&self) -> Result<Zone, String> {
        Zone::parse(&self.time_zone).map_err(|e| format!("config: locale.{e}"))
    }
}

/// Erasure (GDPR Art. 17(3)): an erasure keeps the consent proof pseudonymously (Art. 7(1),
/// Art. 17(3)(e)) and the request records and audit trail without free text (Art. 5(2)), for
/// these many years; the suppression hashes are kept as long as the erasure must be honoured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErasureConfig {
    /// Years the pseudonymous consent proof and justified contacts are kept after an erasure
    /// (10: the ordinary limitation period, art. 2946 of the Italian civil code).
    pub proof_years: u8,
    /// Years the request records and the audit trail are kept after an erasure.
    pub records_years: u8,
}

impl Default for ErasureConfig {
    fn default() -> Self {
        let p = consento_domain::erasure::ErasurePolicy::default();
        Self {
            proof_years: p.proof_years,
            records_years: p.records_years,
        }
    }
}

impl ErasureConfig {
    fn check(&self) -> Result<(), String> {
        for (key, v) in [
            ("proof_years", self.proof_years),
            ("records_years", self.records_years),
        ] {
            if !(1..=20).contains(&v) {
                return Err(format!("config: erasure.{key}: must be 1 to 20"));
            }
        }
        Ok(())
    }

    /// The domain's policy.
    pub fn policy(&self) -> consento_domain::erasure::ErasurePolicy {
        consento_domain::erasure::ErasurePolicy {
            proof_years: self.proof_years,
            records_years: self.records_years,
        }
    }
}

/// Retention per purpose: a contact with no consent valid, whose last consent ended longer ago
/// than the longest period of its purposes, and with no open request, is listed by
/// `consento retention list` and anonymised on confirmation. A purpose takes the period of every
/// key its text contains (case and accents aside: "marketing diretto" takes `marketing`), the
/// longest if several; a purpose with no key takes `default_months`. Defaults after the Italian
/// DPA: marketing 24 months, profiling 12.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Purpose key → months.
    pub purposes: std::collections::BTreeMap<String, u8>,
    /// Months for a purpose with no key, and for a contact with no purposes.
    pub default_months: u8,
    /// Contacts anonymised per transaction.
    pub batch_size: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            purposes: [
                ("marketing", 24),
                ("newsletter", 24),
                ("profilazione", 12),
                ("profiling", 12),
            ]
            .into_iter()
            .map(|(k, m)| (k.to_owned(), m))
            .collect(),
            default_months: 24,
            batch_size: 100,
        }
    }
}

impl RetentionConfig {
    fn check(&self) -> Result<(), String> {
        let months = |key: &str, v: u8| {
            if (1..=240).contains(&v) {
                Ok(())
            } else {
                Err(format!("config: retention.{key}: must be 1 to 240 months"))
            }
        };
        months("default_months", self.default_months)?;
        for (k, v) in &self.purposes {
            if k.trim().is_empty() {
                return Err("config: retention.purposes: a purpose key is empty".to_owned());
            }
            months(&format!("purposes.{k}"), *v)?;
        }
        if !(1..=10_000).contains(&self.batch_size) {
            return Err("config: retention.batch_size: must be 1 to 10000".to_owned());
        }
        Ok(())
    }

    /// The domain's policy.
    pub fn policy(&self) -> consento_domain::erasure::RetentionPolicy {
        consento_domain::erasure::RetentionPolicy::new(
            self.purposes.iter().map(|(k, m)| (k.clone(), *m)),
            self.default_months,
        )
    }
}

/// Data-subject requests. Their Art. 12(3) deadline moves off Saturdays, Sundays and holidays:
/// Italy's national holidays always count; `extra_holidays` adds local ones (the city's patron
/// saint, e.g. `2025-06-24` in Turin, Florence and Genoa) as `YYYY-MM-DD` dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestsConfig {
    /// Days besides Italy's national holidays on which deadlines do not fall.
    pub extra_holidays: Vec<String>,
}

impl RequestsConfig {
    /// Refuses a date that is not one.
    fn check(&self) -> Result<(), String> {
        self.extra_dates().map(|_| ())
    }

    fn extra_dates(&self) -> Result<Vec<time::Date>, String> {
        self.extra_holidays
            .iter()
            .map(|d| {
                consento_domain::requests::parse_date("extra_holidays", d)
                    .map_err(|e| format!("config: requests.{e}"))
            })
            .collect()
    }

    /// The calendar deadlines are counted on: Italy's, plus the extra days (an invalid one was
    /// refused when the configuration was loaded, so none is dropped here).
    pub fn calendar(&self) -> consento_domain::requests::HolidayCalendar {
        consento_domain::requests::HolidayCalendar::italy()
            .with_extra(self.extra_dates().unwrap_or_default())
    }
}

/// The public pages: unsubscribe, preference center, subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicConfig {
    /// The address people reach this server at, as written in emails (`https://privacy.example.com`):
    /// links and `List-Unsubscribe` headers are built from it. RFC 8058 wants HTTPS. Empty (the
    /// default): derived from the address the server listens on (see
    /// [`ServeConfig::public_base_url`]), which only works where people reach the server directly.
    pub base_url: String,
    /// Requests one client address may make to the public pages per minute.
    pub requests_per_minute: u32,
}

impl Default for PublicConfig {
    fn default() -> Self {
        Self {
            base_url: String::new(),
            requests_per_minute: 60,
        }
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain text: only to a relay on this machine (loopback), which then protects the rest.
    None,
    /// Plain text upgraded by STARTTLS, which is required (RFC 3207; submission port 587).
    Starttls,
    /// TLS from the first byte (RFC 8314 implicit TLS; port 465).
    Tls,
}

/// Email: the SMTP server the mail worker sends through, who the messages come from, and the
/// double opt-in's limits. The password is best given by the environment
/// (`CONSENTO_MAIL__PASSWORD`), not written in the file; it is never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// Whether this process sends the outbox's emails (several processes may; each email goes
    /// once). Off, emails wait in the outbox.
    pub enabled: bool,
    /// The SMTP server (submission relay).
    pub smtp_host: String,
    /// Its port: 587 for STARTTLS, 465 for TLS, 25 for a local relay.
    pub smtp_port: u16,
    /// `none` (loopback relays only), `starttls` or `tls`.
    pub tls: MailTls,
    /// The SMTP user name, if the server wants one.
    pub username: Option<String>,
    /// The SMTP password (from `CONSENTO_MAIL__PASSWORD`).
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// The sender's address (`From`).
    pub from_address: String,
    /// The sender's display name.
    pub from_name: String,
    /// The data controller emails name (GDPR Art. 13(1)(a)) while neither `controller.name` nor
    /// the console's first-run page names it; the same fallback names it in exports and receipts.
    pub controller_name: String,
    /// Milliseconds between polls of the outbox when it is empty.
    pub poll_interval_ms: u64,
    /// Emails claimed per poll.
    pub batch_size: u32,
    /// Seconds a delivery may take before it counts as failed.
    pub timeout_seconds: u64,
    /// Attempts before an email is given up.
    pub max_attempts: u32,
    /// The first retry's delay in seconds; each later one doubles, up to `max_backoff_seconds`.
    pub backoff_base_seconds: u64,
    /// The longest delay between two attempts, in seconds.
    pub max_backoff_seconds: u64,
    /// Days sent and dead emails (their addresses) are kept before they are removed, and
    /// expired confirmation requests after their expiry.
    pub retention_days: u32,
    /// Hours a double opt-in confirmation link works.
    pub confirm_hours: u32,
    /// Minutes before an address can be sent another confirmation.
    pub resend_minutes: u32,
    /// Confirmations one address can be sent in 24 hours.
    pub daily_limit: u32,
}

/// Hides the password.
impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("enabled", &self.enabled)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from_name", &self.from_name)
            .field("controller_name", &self.controller_name)
            .finish_non_exhaustive()
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            smtp_host: "localhost".to_owned(),
            smtp_port: 587,
            tls: MailTls::Starttls,
            username: None,
            password: None,
            from_address: "privacy@example.com".to_owned(),
            from_name: "Consento".to_owned(),
            controller_name: String::new(),
            poll_interval_ms: 1000,
            batch_size: 20,
            timeout_seconds: 30,
            max_attempts: 8,
            backoff_base_seconds: 60,
            max_backoff_seconds: 6 * 3600,
            retention_days: 7,
            confirm_hours: 48,
            resend_minutes: 10,
            daily_limit: 5,
        }
    }
}

impl MailConfig {
    /// Refuses what would silently misbehave: no controller to name, a sender that is not an
    /// address, plain text to a remote server (the addresses, the links and the password would
    /// cross the network readable), limits of zero or beyond reason.
    fn check(&self) -> Result<(), String> {
        let within = |key: &str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(format!("config: mail.{key}: must be {min} to {max}"))
            }
        };
        within("confirm_hours", u64::from(self.confirm_hours), 1, 24 * 31)?;
        within("resend_minutes", u64::from(self.resend_minutes), 0, 24 * 60)?;
        within("daily_limit", u64::from(self.daily_limit), 1, 100)?;
        within("retention_days", u64::from(self.retention_days), 1, 3650)?;
        within("max_attempts", u64::from(self.max_attempts), 1, 100)?;
        within("timeout_seconds", self.timeout_seconds, 1, 600)?;
        if !self.enabled {
            return Ok(());
        }
        if self.controller_name.trim().is_empty() {
            return Err("config: mail.controller_name: name the data controller".to_owned());
        }
        if consento_domain::Email::parse(&self.from_address).is_err() {
            return Err("config: mail.from_address: must be an email address".to_owned());
        }
        if self.tls == MailTls::None && !is_loopback(&self.smtp_host) {
            return Err(
                "config: mail.tls: none is only for a relay on this machine (localhost, 127.0.0.1, ::1)"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// Whether a host name or address is this machine.
fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The operator console's sessions, logins and language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// The language of pages when neither the person nor their browser chose one: `it` or `en`.
    pub default_locale: String,
    /// Send the session cookie only over HTTPS (`Secure`): on for any deployment behind TLS.
    pub secure_cookies: bool,
    /// Hours a session lasts at most, however active.
    pub session_hours: u64,
    /// Minutes of inactivity that end a session.
    pub idle_minutes: u64,
    /// Consecutive failed logins that lock an account.
    pub lock_after_failures: u32,
    /// Minutes a locked account stays locked.
    pub lock_minutes: u64,
    /// Login attempts one client address may make per minute.
    pub login_attempts_per_minute: u32,
    /// The largest import upload accepted, in bytes (the whole request as sent).
    pub max_upload_bytes: u64,
    /// Where uploads are kept while they are imported; empty: the system's temporary directory.
    pub upload_dir: String,
}

impl ConsoleConfig {
    /// The instant before which a session's last activity ends it: `now` less `idle_minutes`.
    pub fn idle_since(&self, now: consento_domain::Timestamp) -> consento_domain::Timestamp {
        let idle = i64::try_from(self.idle_minutes.saturating_mul(60_000_000)).unwrap_or(i64::MAX);
        consento_domain::Timestamp::from_micros(now.as_micros().saturating_sub(idle))
    }

    /// Refuses values that would silently misbehave: an unknown language, a zero that refuses
    /// every login, durations so large that the arithmetic on instants overflows.
    fn check(&self) -> Result<(), String> {
        let within = |key: &str, value: u64, max: u64| {
            if (1..=max).contains(&value) {
                Ok(())
            } else {
                Err(format!("config: console.{key}: must be 1 to {max}"))
            }
        };
        if !matches!(self.default_locale.as_str(), "it" | "en") {
            return Err("config: console.default_locale: must be it or en".to_owned());
        }
        within("session_hours", self.session_hours, 24 * 31)?;
        within("idle_minutes", self.idle_minutes, 60 * 24 * 31)?;
        within(
            "lock_after_failures",
            u64::from(self.lock_after_failures),
            100,
        )?;
        within("lock_minutes", self.lock_minutes, 60 * 24)?;
        within(
            "login_attempts_per_minute",
            u64::from(self.login_attempts_per_minute),
            10_000,
        )?;
        within("max_upload_bytes", self.max_upload_bytes, 1 << 40)
    }

    /// The directory uploads are written to.
    pub fn upload_dir(&self) -> std::path::PathBuf {
        if self.upload_dir.trim().is_empty() {
            std::env::temp_dir()
        } else {
            std::path::PathBuf::from(&self.upload_dir)
        }
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            default_locale: "it".to_owned(),
            secure_cookies: false,
            session_hours: 12,
            idle_minutes: 60,
            // OWASP Authentication Cheat Sheet: lock after a few failures, for a bounded time, so
            // that a guesser is slowed without a permanent denial of service.
            lock_after_failures: 5,
            lock_minutes: 15,
            login_attempts_per_minute: 10,
            max_upload_bytes: 2 * 1024 * 1024 * 1024,
            upload_dir: String::new(),
        }
    }
}

/// How the webhook worker delivers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Whether this process delivers webhooks (several processes may; each message goes once).
    pub enabled: bool,
    /// Milliseconds between polls of the outbox when it is empty.
    pub poll_interval_ms: u64,
    /// Messages claimed per poll.
    pub batch_size: u32,
    /// Seconds a delivery may take before it counts as failed.
    pub timeout_seconds: u64,
    /// Attempts before a message is given up (dead).
    pub max_attempts: u32,
    /// The first retry's delay in seconds; each later one doubles, up to `max_backoff_seconds`.
    pub backoff_base_seconds: u64,
    /// The longest delay between two attempts, in seconds.
    pub max_backoff_seconds: u64,
    /// Days delivered and dead messages are kept for inspection before they are removed.
    pub retention_days: u32,
}

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

impl ServeConfig {
    /// What this configuration decides for the use cases: the one [`Policy`] the server and
    /// every command run with, with links built on [`ServeConfig::public_base_url`] of the
    /// configured `listen` address.
    pub fn policy(&self) -> Policy {
        self.policy_at(self.listen)
    }

    /// As [`ServeConfig::policy`], for a server bound to `bound` (which differs from `listen`
    /// when `listen` asks for any free port, port 0).
    pub fn policy_at(&self, bound: SocketAddr) -> Policy {
        // An unknown zone was refused when the configuration was loaded.
        let zone = self.locale.zone().unwrap_or_default();
        Policy {
            erasure: self.erasure.policy(),
            retention: self.retention.policy().in_zone(zone.clone()),
            retention_batch: usize::try_from(self.retention.batch_size).unwrap_or(100),
            calendar: self.requests.calendar().in_zone(zone.clone()),
            zone,
            controller: self.controller.clone(),
            controller_fallback_name: self.mail.controller_name.clone(),
            public_base_url: self.public_base_url(bound),
            subscriptions: SubscriptionPolicy {
                confirm_hours: self.mail.confirm_hours,
                resend_minutes: self.mail.resend_minutes,
                daily_limit: self.mail.daily_limit,
            },
            default_locale: Locale::parse(&self.console.default_locale).unwrap_or(Locale::It),
            import_max_cell_bytes: self.import.max_cell_kib as usize * 1024,
            calling_hours: self.telemarketing.calling_hours,
            rpo: self
                .telemarketing
                .rpo_required
                .then_some(self.telemarketing.rpo),
            silent_call_cooldown_days: self.telemarketing.silent_call_cooldown_days,
            requested_call_days: self.telemarketing.requested_call_days,
            hold_hours: self.postfix_policy.hold_hours,
            relay_hold_hours: self.relay.hold_hours,
        }
    }
}

impl ServeConfig {
    /// Whether `public.base_url` was left unset, so that links are built on the listening
    /// address: right for a server people reach directly, wrong behind a proxy.
    pub fn public_base_url_derived(&self) -> bool {
        self.public.base_url.trim().is_empty()
    }

    /// The address links and `List-Unsubscribe` headers are built on: `public.base_url`, else
    /// `http://` and the address the server is bound to, so that a link opens on the port the
    /// server listens on, whatever `--listen` says. A server listening on every interface
    /// (`0.0.0.0`, `::`) is named by its loopback address of the same family, the one address
    /// certain to reach it.
    pub fn public_base_url(&self, bound: SocketAddr) -> String {
        let configured = self.public.base_url.trim();
        if !configured.is_empty() {
            return configured.to_owned();
        }
        let mut addr = bound;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        format!("http://{addr}")
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            telemarketing: TelemarketingConfig::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: crate::cli::DEFAULT_DATABASE_URL.to_owned(),
            pg_schema: None,
            sqlite_full_sync: true,
            max_connections: 8,
            decision_cache_entries: 1_000_000,
            sqlite_wal_limit_mib: 256,
            max_body_bytes: 2 * 1024 * 1024,
            log_format: LogFormat::Json,
            log_level: "info".to_owned(),
            shutdown_grace_seconds: 30,
            webhooks: WebhookConfig::default(),
            console: ConsoleConfig::default(),
            public: PublicConfig::default(),
            mail: MailConfig::default(),
            requests: RequestsConfig::default(),
            controller: ControllerConfig::default(),
            erasure: ErasureConfig::default(),
            retention: RetentionConfig::default(),
            locale: LocaleConfig::default(),
            trusted_proxies: Vec::new(),
            proxy_header: ProxyHeader::XForwardedFor,
            http: HttpConfig::default(),
            keys: KeysConfig::default(),
            config_file: None,
            import: ImportConfig::default(),
            postfix_policy: PostfixPolicyConfig::default(),
            relay: RelayConfig::default(),
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval_ms: 1000,
            batch_size: 50,
            // Standard Webhooks, "Request timeouts": 15 to 30 s lets a receiver process and answer.
            timeout_seconds: 15,
            max_attempts: 12,
            backoff_base_seconds: 30,
            max_backoff_seconds: 6 * 3600,
            retention_days: 30,
        }
    }
}

/// Values given on the command line; they win over the file and the environment.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--pg-schema`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pg_schema: Option<String>,
}

impl ServeConfig {
    /// Loads the configuration: defaults, `file` (if given, it must exist), the environment
    /// variables in `env` (normally `std::env::vars()`), then `overrides`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: Overrides,
    ) -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(format!("config: no such file {}", path.display()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let vars: Vec<(String, String)> = env
            .into_iter()
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("CONSENTO_")?.to_ascii_lowercase();
                (!NOT_CONFIG.contains(&key.as_str()) && !key.starts_with(TEST_PREFIX))
                    .then_some((key, v))
            })
            .collect();
        figment = figment
            .merge(EnvVars(vars))
            .merge(Serialized::defaults(overrides));
        let mut config: Self = figment.extract().map_err(|e| {
            // One line per problem; figment names the key and where it came from.
            e.into_iter()
                .map(|e| format!("config: {e}"))
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        config.config_file = file.map(Path::to_path_buf);
        config.console.check()?;
        config.mail.check()?;
        config.requests.check()?;
        config.controller.check()?;
        config.erasure.check()?;
        config.retention.check()?;
        config.locale.check()?;
        config
            .telemarketing
            .rpo
            .validate()
            .map_err(|e| format!("config: telemarketing.rpo.{}: {e}", e.field()))?;
        if !(1..=90).contains(&config.telemarketing.silent_call_cooldown_days) {
            return Err(
                "config: telemarketing.silent_call_cooldown_days: must be 1 to 90 days".to_owned(),
            );
        }
        // A request is for one call soon after it, not a standing permission.
        if !(1..=30).contains(&config.telemarketing.requested_call_days) {
            return Err(
                "config: telemarketing.requested_call_days: must be 1 to 30 days".to_owned(),
            );
        }
        config.import.check()?;
        config.relay.check()?;
        config.http.check()?;
        config.postfix_policy.check()?;
        crate::client::TrustedProxies::parse(&config.trusted_proxies, config.proxy_header)?;
        Ok(config)
    }
}

/// The `CONSENTO_…` variables as a figment provider. `Env` reads the process environment itself;
/// taking the variables as a value lets tests give their own without touching the process.
struct EnvVars(Vec<(String, String)>);

impl figment::Provider for EnvVars {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("environment variable")
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut dict = figment::value::Dict::new();
        for (key, value) in &self.0 {
            // `__` separates nested keys, as in `CONSENTO_WEBHOOKS__ENABLED`.
            let path: Vec<&str> = key.split("__").collect();
            let parsed: figment::value::Value = value
                .parse()
                .unwrap_or_else(|_| figment::value::Value::from(value.clone()));
            insert_path(&mut dict, &path, parsed);
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

fn insert_path(dict: &mut figment::value::Dict, path: &[&str], value: figment::value::Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry((*first).to_owned())
                .or_insert_with(|| figment::value::Dict::new().into());
            if let figment::value::Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn calling_hours_are_read_per_kind_of_day_and_a_bad_window_names_its_key() {
        use consento_domain::calling_hours::{CallingWindows, DayKind};
        let dir = std::env::temp_dir().join(format!("consento-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("calling-hours.toml");
        std::fs::write(
            &file,
            "[telemarketing.calling_hours]\nsaturday = \"none\"\nweekday = \"10:00-18:30\"\n",
        )
        .unwrap();
        let c = ServeConfig::load(Some(&file), vars(&[]), Overrides::default()).unwrap();
        let expected = CallingWindows::default()
            .with_text(DayKind::Saturday, "none")
            .unwrap()
            .with_text(DayKind::Weekday, "10:00-18:30")
            .unwrap();
        assert_eq!(c.policy().calling_hours, expected);
        // From the environment too.
        let c = ServeConfig::load(
            None,
            vars(&[(
                "CONSENTO_TELEMARKETING__CALLING_HOURS__SUNDAY",
                "11:00-13:00",
            )]),
            Overrides::default(),
        )
        .unwrap();
        assert_ne!(c.telemarketing.calling_hours, CallingWindows::default());
        std::fs::write(&file, "[telemarketing.calling_hours]\nholiday = \"9-20\"\n").unwrap();
        let err = ServeConfig::load(Some(&file), vars(&[]), Overrides::default()).unwrap_err();
        assert!(err.contains("holiday"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    #[test]
    fn defaults_listen_on_loopback_with_the_embedded_database() {
        let c = ServeConfig::load(None, vars(&[]), Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite:consento.db");
    }

    #[test]
    fn environment_overrides_nested_keys_and_the_command_line_wins() {
        let c = ServeConfig::load(
            None,
            vars(&[
                ("CONSENTO_LISTEN", "127.0.0.1:9000"),
                ("CONSENTO_WEBHOOKS__MAX_ATTEMPTS", "3"),
                ("CONSENTO_OPERATOR", "someone"),
                ("PATH", "/bin"),
            ]),
            Overrides {
                listen: Some(SocketAddr::from(([127, 0, 0, 1], 9100))),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.webhooks.max_attempts, 3);
        assert_eq!(c.listen.port(), 9100);
    }

    #[test]
    fn a_console_setting_out_of_range_is_an_error_naming_it() {
        for (key, value) in [
            ("CONSENTO_CONSOLE__DEFAULT_LOCALE", "fr"),
            ("CONSENTO_CONSOLE__LOGIN_ATTEMPTS_PER_MINUTE", "0"),
            ("CONSENTO_CONSOLE__IDLE_MINUTES", "99999999999"),
        ] {
            let e =
                ServeConfig::load(None, vars(&[(key, value)]), Overrides::default()).unwrap_err();
            let name = key.rsplit("__").next().unwrap().to_ascii_lowercase();
            assert!(e.contains(&format!("console.{name}")), "{e}");
        }
    }

    #[test]
    fn the_controller_section_defaults_to_the_italian_authority_and_refuses_an_unusable_one() {
        let c = ServeConfig::load(None, vars(&[]), Overrides::default()).unwrap();
        assert_eq!(
            c.controller.complaint_authority,
            "Garante per la protezione dei dati personali"
        );
        assert!(c.controller.complaint_url.starts_with("https://"));
        for (key, value) in [
            ("CONSENTO_CONTROLLER__COMPLAINT_AUTHORITY", " "),
            ("CONSENTO_CONTROLLER__COMPLAINT_URL", "garante"),
            ("CONSENTO_CONTROLLER__RETENTION", ""),
        ] {
            let e =
                ServeConfig::load(None, vars(&[(key, value)]), Overrides::default()).unwrap_err();
            let name = key.rsplit("__").next().unwrap().to_ascii_lowercase();
            assert!(e.contains(&format!("controller.{name}")), "{e}");
        }
    }

    #[test]
    fn mail_over_plain_text_is_refused_unless_the_relay_is_on_this_machine() {
        let load = |host: &str| {
            ServeConfig::load(
                None,
                vars(&[
                    ("CONSENTO_MAIL__ENABLED", "true"),
                    ("CONSENTO_MAIL__TLS", "none"),
                    ("CONSENTO_MAIL__SMTP_HOST", host),
                    ("CONSENTO_MAIL__CONTROLLER_NAME", "Esempio S.r.l."),
                    ("CONSENTO_MAIL__PASSWORD", "s3cret"),
                ]),
                Overrides::default(),
            )
        };
        let c = load("127.0.0.1").unwrap();
        assert_eq!(c.mail.password.as_deref(), Some("s3cret"));
        assert!(
            !format!("{c:?}").contains("s3cret"),
            "the password is never printed"
        );
        assert!(load("localhost").is_ok());
        assert!(load("smtp.example.com").unwrap_err().contains("mail.tls"));
    }

    #[test]
    fn an_unset_public_base_url_follows_the_listening_address() {
        let c = ServeConfig::load(
            None,
            vars(&[("CONSENTO_LISTEN", "127.0.0.1:9300")]),
            Overrides::default(),
        )
        .unwrap();
        assert!(c.public_base_url_derived());
        assert_eq!(c.policy().public_base_url, "http://127.0.0.1:9300");
        // The port actually bound, when `listen` asked for any.
        let bound: SocketAddr = "127.0.0.1:41234".parse().unwrap();
        assert_eq!(c.policy_at(bound).public_base_url, "http://127.0.0.1:41234");
        for (listen, base) in [
            ("0.0.0.0:8081", "http://127.0.0.1:8081"),
            ("[::]:8082", "http://[::1]:8082"),
            ("[::1]:8083", "http://[::1]:8083"),
        ] {
            assert_eq!(c.public_base_url(listen.parse().unwrap()), base);
        }
        let c = ServeConfig::load(
            None,
            vars(&[("CONSENTO_PUBLIC__BASE_URL", "https://privacy.example.com")]),
            Overrides::default(),
        )
        .unwrap();
        assert!(!c.public_base_url_derived());
        assert_eq!(
            c.policy_at(bound).public_base_url,
            "https://privacy.example.com"
        );
    }

    #[test]
    fn a_privacy_notice_url_that_is_not_a_web_address_is_refused() {
        let e = ServeConfig::load(
            None,
            vars(&[(
                "CONSENTO_CONTROLLER__PRIVACY_NOTICE_URL",
                "rossi.example/privacy",
            )]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.contains("controller.privacy_notice_url"), "{e}");
    }

    #[test]
    fn mail_needs_a_controller_to_name_once_enabled() {
        let e = ServeConfig::load(
            None,
            vars(&[("CONSENTO_MAIL__ENABLED", "true")]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.contains("mail.controller_name"), "{e}");
    }

    #[test]
    fn trusted_proxies_and_the_http_limits_come_from_the_environment_and_bad_ones_are_refused() {
        let c = ServeConfig::load(
            None,
            vars(&[
                ("CONSENTO_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8,192.0.2.7"),
                ("CONSENTO_PROXY_HEADER", "forwarded"),
                ("CONSENTO_HTTP__HEADER_READ_TIMEOUT", "500ms"),
                ("CONSENTO_HTTP__IDLE_TIMEOUT", "2m"),
                ("CONSENTO_HTTP__MAX_CONNECTIONS", "16"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.trusted_proxies, ["10.0.0.0/8", "fd00::/8", "192.0.2.7"]);
        assert_eq!(c.proxy_header, ProxyHeader::Forwarded);
        assert_eq!(
            c.http.header_read().unwrap(),
            std::time::Duration::from_millis(500)
        );
        assert_eq!(c.http.idle().unwrap(), std::time::Duration::from_secs(120));
        assert_eq!(c.http.max_connections, 16);
        let defaults = ServeConfig::load(None, vars(&[]), Overrides::default()).unwrap();
        assert!(defaults.trusted_proxies.is_empty());
        assert_eq!(
            defaults.http.header_read().unwrap(),
            std::time::Duration::from_secs(10)
        );
        for (key, value, named) in [
            ("CONSENTO_TRUSTED_PROXIES", "10.0.0.0/40", "trusted_proxies"),
            (
                "CONSENTO_TRUSTED_PROXIES",
                "proxy.example",
                "trusted_proxies",
            ),
            (
                "CONSENTO_HTTP__HEADER_READ_TIMEOUT",
                "10",
                "http.header_read_timeout",
            ),
            ("CONSENTO_HTTP__IDLE_TIMEOUT", "0s", "http.idle_timeout"),
            (
                "CONSENTO_HTTP__MAX_CONNECTIONS",
                "0",
                "http.max_connections",
            ),
            (
                "CONSENTO_CONSOLE__MAX_UPLOAD_BYTES",
                "0",
                "console.max_upload_bytes",
            ),
        ] {
            let e =
                ServeConfig::load(None, vars(&[(key, value)]), Overrides::default()).unwrap_err();
            assert!(e.contains(named), "{key}={value}: {e}");
        }
    }

    #[test]
    fn the_postfix_policy_service_is_off_by_default_and_configured_from_the_environment() {
        let c = ServeConfig::load(None, vars(&[]), Overrides::default()).unwrap();
        assert_eq!(c.postfix_policy.listen, None);
        assert_eq!(c.postfix_policy.hold_hours, 48);
        assert_eq!(c.policy().hold_hours, 48);
        assert_eq!(c.policy().relay_hold_hours, 48);
        let c = ServeConfig::load(
            None,
            vars(&[
                ("CONSENTO_POSTFIX_POLICY__LISTEN", "127.0.0.1:10040"),
                ("CONSENTO_POSTFIX_POLICY__DEFAULT_ACTION", "email.bulk"),
                ("CONSENTO_POSTFIX_POLICY__POSTSUPER", "/usr/sbin/postsuper"),
                ("CONSENTO_POSTFIX_POLICY__HOLD_HOURS", "24"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.postfix_policy.listen,
            Some("127.0.0.1:10040".parse().unwrap())
        );
        assert_eq!(c.postfix_policy.default_action, PolicyAction::EmailBulk);
        assert_eq!(c.policy().hold_hours, 24);
        for (key, value, named) in [
            (
                "CONSENTO_POSTFIX_POLICY__DEFAULT_ACTION",
                "phone.call",
                "default_action",
            ),
            ("CONSENTO_POSTFIX_POLICY__HOLD_HOURS", "0", "hold_hours"),
            (
                "CONSENTO_POSTFIX_POLICY__POSTSUPER",
                "postsuper",
                "postsuper",
            ),
        ] {
            let e =
                ServeConfig::load(None, vars(&[(key, value)]), Overrides::default()).unwrap_err();
            assert!(e.contains(named), "{key}={value}: {e}");
        }
    }

    #[test]
    fn the_relays_dkim_settings_come_from_the_environment_and_a_bad_selector_is_named() {
        let base = [
            ("CONSENTO_RELAY__UPSTREAM__HOST", "127.0.0.1"),
            ("CONSENTO_RELAY__DKIM__DOMAIN", "example.com"),
            (
                "CONSENTO_RELAY__DKIM__PRIVATE_KEY_FILE",
                "/etc/consento/dkim.pem",
            ),
        ];
        let mut ok = base.to_vec();
        ok.push(("CONSENTO_RELAY__DKIM__SELECTOR", "consento"));
        let c = ServeConfig::load(None, vars(&ok), Overrides::default()).unwrap();
        let dkim = c.relay.dkim.unwrap();
        assert_eq!(
            (dkim.domain.as_str(), dkim.selector.as_str()),
            ("example.com", "consento")
        );
        assert_eq!(dkim.headers, None);
        let mut bad = base.to_vec();
        bad.push(("CONSENTO_RELAY__DKIM__SELECTOR", "a b"));
        let e = ServeConfig::load(None, vars(&bad), Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("relay.dkim.selector"), "{e}");
    }

    #[test]
    fn the_relay_is_off_by_default_its_settings_come_from_the_environment_and_bad_ones_are_named() {
        let c = ServeConfig::load(None, vars(&[]), Overrides::default()).unwrap();
        assert_eq!(c.relay.listen, None);
        assert_eq!(
            (
                c.relay.max_message_bytes,
                c.relay.max_recipients,
                c.relay.messages_per_minute
            ),
            (25 * 1024 * 1024, 100, 600)
        );
        let c = ServeConfig::load(
            None,
            vars(&[
                ("CONSENTO_RELAY__LISTEN", "127.0.0.1:2525"),
                ("CONSENTO_RELAY__DEFAULT_ACTION", "email.bulk"),
                ("CONSENTO_RELAY__UPSTREAM__HOST", "smtp.example.com"),
                ("CONSENTO_RELAY__UPSTREAM__PASSWORD", "s3cret"),
            ]),
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.relay.listen.map(|a| a.port()), Some(2525));
        assert_eq!(c.relay.action(), Ok(consento_domain::Action::EmailBulk));
        assert_eq!(c.relay.upstream.password.as_deref(), Some("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"), "never printed");
        for (extra, named) in [
            (vec![], "relay.upstream.host"),
            (
                vec![
                    ("CONSENTO_RELAY__UPSTREAM__HOST", "smtp.example.com"),
                    ("CONSENTO_RELAY__UPSTREAM__TLS", "none"),
                ],
                "relay.upstream.tls",
            ),
            (
                vec![
                    ("CONSENTO_RELAY__UPSTREAM__HOST", "127.0.0.1"),
                    ("CONSENTO_RELAY__TLS_CERT", "/etc/consento/relay.pem"),
                ],
                "relay.tls_cert",
            ),
            (
                vec![
                    ("CONSENTO_RELAY__UPSTREAM__HOST", "127.0.0.1"),
                    ("CONSENTO_RELAY__DEFAULT_ACTION", "phone.call"),
                ],
                "relay.default_action",
            ),
            (
                vec![
                    ("CONSENTO_RELAY__UPSTREAM__HOST", "127.0.0.1"),
                    ("CONSENTO_RELAY__MAX_RECIPIENTS", "0"),
                ],
                "relay.max_recipients",
            ),
            (
                vec![
                    ("CONSENTO_RELAY__UPSTREAM__HOST", "127.0.0.1"),
                    ("CONSENTO_RELAY__HOLD_HOURS", "745"),
                ],
                "relay.hold_hours",
            ),
            (
                vec![
                    ("CONSENTO_RELAY__UPSTREAM__HOST", "127.0.0.1"),
                    ("CONSENTO_RELAY__MAILTO_UNSUBSCRIBE", "not an address"),
                ],
                "relay.mailto_unsubscribe",
            ),
        ] {
            let mut all = vec![("CONSENTO_RELAY__LISTEN", "127.0.0.1:2525")];
            all.extend(extra);
            let e = ServeConfig::load(None, vars(&all), Overrides::default()).unwrap_err();
            assert!(e.contains(named), "{named}: {e}");
        }
    }

    #[test]
    fn an_unknown_environment_key_is_an_error_naming_it() {
        let e = ServeConfig::load(
            None,
            vars(&[("CONSENTO_LISTNE", "x")]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.contains("listne"), "{e}");
    }
}
