//! The `consento` command line as clap sees it: global options, every subcommand and its flags.
//! Only shapes and help texts live here; values a person types (emails, dates, codes) stay text
//! and are parsed by the domain, so that a bad value is one line naming the field (exit 1),
//! while a malformed command line is clap's usage error (exit 2).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The embedded default database, next to where the command runs.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:consento.db";

/// Consento: GDPR consent and privacy for CRMs.
#[derive(Debug, Parser)]
#[command(name = "consento", version, max_term_width = 100)]
pub struct Cli {
    /// The database: `sqlite:path/to/file.db` or `postgres://user@host/db`.
    /// [default: sqlite:consento.db]
    #[arg(
        long,
        global = true,
        env = "CONSENTO_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// PostgreSQL only: the schema to use instead of `public` (created if missing).
    #[arg(long, global = true, env = "CONSENTO_PG_SCHEMA")]
    pub pg_schema: Option<String>,

    /// Print machine-readable JSON instead of tables and sentences.
    #[arg(long, global = true)]
    pub json: bool,

    /// The operator recorded as the actor of consent events, justified contacts and the audit
    /// trail. Without it, the account that runs the command (`USER`, `LOGNAME`), else
    /// `command-line`: the proof never names a console account that did not act.
    #[arg(long, global = true, env = "CONSENTO_OPERATOR")]
    pub operator: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Who runs this command, as the proof names them: `--operator`, else the account running
    /// it, else `command-line`.
    pub fn operator_name(&self) -> String {
        let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        given(self.operator.clone())
            .or_else(|| given(std::env::var("USER").ok()))
            .or_else(|| given(std::env::var("LOGNAME").ok()))
            .unwrap_or_else(|| "command-line".to_owned())
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or migrate the database, say where it is, and name the data controller (GDPR
    /// Art. 13): what is still missing about it is listed.
    Init(ControllerArgs),
    /// The data controller as exports, receipts, emails and public pages name it.
    #[command(subcommand)]
    Controller(ControllerCommand),
    /// Serve the HTTP API (and run the webhook worker) until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Print the OpenAPI 3.1 document of the HTTP API.
    Openapi,
    /// API tokens for integrations (CRMs, dialers, mail senders).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Console accounts (administrators, DPOs, operators, auditors).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Fill the database with a realistic, reproducible sample.
    Demo(DemoArgs),
    /// The privacy settings: which checks are on.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Consent types: what a consent permits and for how long.
    #[command(subcommand)]
    Types(TypesCommand),
    /// Contact reasons an operator picks to justify a contact without consent.
    #[command(subcommand)]
    Reasons(ReasonsCommand),
    /// Privacy-notice versions.
    #[command(subcommand)]
    Notices(NoticesCommand),
    /// Contacts (data subjects).
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Record consent events and read a contact's consent history.
    #[command(subcommand)]
    Consents(ConsentsCommand),
    /// May this contact be reached by this action? Prints the outcome and the rule.
    Decide(DecideArgs),
    /// Record a justified contact: reaching someone without consent, for a reason.
    Justify(JustifyArgs),
    /// The newsletter audience: recipients as CSV or NDJSON, and who is left out and why.
    Audience(AudienceArgs),
    /// The consent ledger's hash chain.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Data-subject requests (access, erasure, objection…) and their GDPR Art. 12(3) deadlines.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// Bulk rules over provenance (source, legal basis, purposes): save, dry-run, apply, revert.
    #[command(subcommand)]
    Rules(crate::commands::rules::RulesCommand),
    /// The keys of the personal links in emails (unsubscribe, preference center).
    #[command(subcommand)]
    Links(LinksCommand),
    /// The master key that seals the database's secrets (kept outside the database).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The Italian opt-out register (Registro pubblico delle opposizioni): the numbers due for a
    /// check, and the register's answer.
    #[command(subcommand)]
    Rpo(RpoCommand),
    /// Signed consent receipts: their signing keys, and verifying a receipt.
    #[command(subcommand)]
    Receipts(ReceiptsCommand),
    /// Retention (GDPR Art. 5(1)(e)): contacts whose every consent lapsed beyond the period.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Import contacts with their consents from a CRM export (CSV with a header row), all or
    /// nothing: any bad line is reported and nothing is written.
    Import(ImportArgs),
    /// SQLite: write a consistent copy of the database (it may be serving meanwhile) to a new
    /// file readable by its owner only, verify the copy's ledger and print its head. PostgreSQL:
    /// use pg_dump.
    Backup {
        /// The new file (an existing one is never overwritten).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// SQLite, with the server stopped: verify a backup's ledger, then make it the database.
    /// PostgreSQL: use pg_restore.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Measure decisions, consent writes, the audience and the bulk load against the bare
    /// database on the same data. Use an empty database: it loads its own data set.
    Bench(BenchArgs),
    /// For HTTP benchmarks: serve the smallest possible axum handler (`GET /` → "ok"), the
    /// ceiling any endpoint on this machine can reach.
    #[command(hide = true)]
    BenchBaseline {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8099")]
        listen: std::net::SocketAddr,
    },
    /// Time a person's data export: creates a contact with `--events` consent events in the
    /// database and prints the median of 20 exports, as JSON and as CSV.
    #[command(hide = true)]
    BenchExport {
        /// Consent events of the contact.
        #[arg(long, default_value_t = 10_000)]
        events: usize,
    },
    /// Time the newsletter audience on the database as it is: the audience index (its build, then
    /// warm counts and lists) against the same computed in SQL, in the same run.
    #[command(hide = true)]
    BenchAudience {
        /// Warm rounds of counts and list.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Time an import: writes a CSV of `--rows` lines with `--consents` consents each, imports it into
    /// the (empty) database, and prints rows/s and the peak resident memory; on PostgreSQL also
    /// the baseline of a raw COPY of as many ledger rows.
    #[command(hide = true)]
    BenchImport {
        /// Lines of the generated file.
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
        /// Consent columns per line (1 to 8), each a consent type of its own.
        #[arg(long, default_value_t = 2)]
        consents: u8,
    },
}

/// `consento import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where the data comes from (`crm-x`): the contacts' source, and the name the mapping is
    /// saved under.
    #[arg(long)]
    pub source: String,
    /// The column mapping (TOML or JSON); saved for the source, so that the next import of the
    /// same source needs only the file.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// The delimiter: `,`, `;` or `tab` [default: detected from the header].
    #[arg(long)]
    pub delimiter: Option<String>,
    /// The file's encoding: `utf-8`, `windows-1252` (Italian CRMs and Excel's plain "CSV"),
    /// `utf-16le`, `utf-16be`; a byte order mark wins over it [default: utf-8].
    #[arg(long)]
    pub encoding: Option<String>,
    /// The largest cell accepted, in KiB; a line with a larger one is a bad line
    /// [default: `import.max_cell_kib` of the configuration, 64].
    #[arg(long)]
    pub max_cell_kib: Option<u32>,
    /// The CSV file (RFC 4180, a header row).
    pub file: PathBuf,
}

/// `consento serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML configuration file (keys as in `CONSENTO_…` variables, lower case).
    #[arg(long, env = "CONSENTO_CONFIG")]
    pub config: Option<PathBuf>,
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

/// `consento tokens …`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token; its secret is printed once and cannot be shown again.
    Create {
        /// What uses it ("crm", "dialer").
        #[arg(long)]
        name: String,
        /// Its scopes: admin, write, read, decide, relay (repeat the flag or separate with commas).
        #[arg(long = "scope", required = true, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Days until it stops working; without it, it works until revoked.
        #[arg(long)]
        expires_days: Option<u32>,
        /// A relay token's default action: email.bulk for a newsletter tool whose messages
        /// carry no List-Id or Precedence header; without it, the relay's `default_action`.
        #[arg(long)]
        relay_action: Option<String>,
    },
    /// List the tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke {
        /// The token's id.
        id: String,
    },
}

/// `consento requests …`.
#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// Log a request; its deadline is one month from receipt, on the next working day.
    Create {
        /// access, rectification, erasure, restriction, portability, objection, human_review,
        /// information.
        #[arg(long)]
        kind: String,
        /// How it arrived: email, letter, phone, form, in_person.
        #[arg(long)]
        channel: String,
        /// The person, if identified: id, email, phone or `ext:` CRM id.
        #[arg(long)]
        contact: Option<String>,
        /// What the person asked.
        #[arg(long, default_value = "")]
        description: String,
        /// When it arrived (YYYY-MM-DD or RFC 3339) [default: now].
        #[arg(long)]
        received: Option<String>,
        /// Local holidays besides Italy's (YYYY-MM-DD; repeat or separate with commas).
        #[arg(long = "extra-holiday", value_delimiter = ',')]
        extra_holidays: Vec<String>,
    },
    /// List requests, most urgent first.
    List {
        /// `open` or one status: received, identity_verification, in_progress, completed,
        /// rejected.
        #[arg(long)]
        status: Option<String>,
        /// Only open requests past their deadline.
        #[arg(long)]
        overdue: bool,
        /// Only open requests due within this many days.
        #[arg(long)]
        due_within_days: Option<u16>,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only this person's (id, email, phone or `ext:` CRM id).
        #[arg(long)]
        contact: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show a request and its history.
    Show {
        /// The request's id.
        id: String,
    },
    /// Move a request to another status.
    Move {
        /// The request's id.
        id: String,
        /// identity_verification, in_progress, completed or rejected.
        #[arg(long)]
        to: String,
        /// For the history; on completion, what was done.
        #[arg(long, default_value = "")]
        note: String,
        /// To reject: why.
        #[arg(long)]
        reason: Option<String>,
        /// To reject: the person's remedies (complaint to the Garante, judicial remedy).
        #[arg(long)]
        remedies: Option<String>,
    },
    /// Extend a request by two further months (once, within the first month).
    Extend {
        /// The request's id.
        id: String,
        /// Why (told to the person).
        #[arg(long)]
        reason: String,
        /// Local holidays besides Italy's (YYYY-MM-DD; repeat or separate with commas).
        #[arg(long = "extra-holiday", value_delimiter = ',')]
        extra_holidays: Vec<String>,
    },
}

/// `consento links …`.
#[derive(Debug, Subcommand)]
pub enum LinksCommand {
    /// List the link keys (never their secrets).
    Keys,
    /// Make a new key: links made from now on are sealed with it, and the links of mails already
    /// sent keep working.
    RotateKey,
    /// Retire a key: every link it sealed stops working at once (after a leak, or once the mails
    /// that carry them are old).
    RetireKey {
        /// The key's id (`consento links keys`).
        id: u32,
    },
}

/// `consento rpo …`.
#[derive(Debug, Subcommand)]
pub enum RpoCommand {
    /// Write the numbers to check (those never checked or whose check no longer counts, of
    /// contacts that may be called for marketing at all) in the register's list format: one
    /// number per line, national form. The file is readable by its owner only.
    Export {
        /// The file to write.
        #[arg(long)]
        output: std::path::PathBuf,
        /// Write numbers in E.164 (`+39…`) instead of the national form.
        #[arg(long)]
        e164: bool,
        /// Every callable number, checked or not.
        #[arg(long)]
        all: bool,
    },
    /// Record the register's answer to a list sent: numbers first found enrolled have their
    /// earlier telephone-marketing and third-party consents revoked, in one transaction.
    Import {
        /// The register's answer file.
        answer: std::path::PathBuf,
        /// The list that was sent (as `consento rpo export` wrote it).
        #[arg(long)]
        sent: std::path::PathBuf,
        /// When the register answered (`YYYY-MM-DD HH:MM` in the office's zone, or RFC 3339).
        #[arg(long)]
        checked_at: String,
        /// What a line with a number alone means: `enrolled` (the answer lists the enrolled
        /// numbers) or `callable` (it lists those that may be called).
        #[arg(long)]
        mode: String,
    },
}

/// `consento keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show the master key's id (never the key) and where it comes from.
    Status,
    /// Re-seal every secret under a new master key, in one transaction. Stop every server
    /// first; start them again with the new key.
    RotateMaster {
        /// Write the new key to this new file (mode 600) instead of replacing the key file
        /// (required when the key comes from CONSENTO_MASTER_KEY or a systemd credential).
        #[arg(long)]
        new_key_file: Option<std::path::PathBuf>,
    },
    /// After the master key was lost: fresh secrets under the key in use. Links already
    /// mailed and receipts already handed out stop working, webhook receivers need the new
    /// secrets printed, and the suppression list can no longer be matched.
    Reset {
        /// Say that the master key is lost (required).
        #[arg(long)]
        lost_master_key: bool,
    },
}

/// `consento receipts …`.
#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// List the receipt signing keys (ids and dates, never a secret).
    Keys,
    /// Make a new signing key: receipts made from now on carry its id; older receipts still
    /// verify with the key that signed them.
    RotateKey,
    /// Verify a receipt: a file holding a compact JWS, or the JSON the API serves (`-` reads
    /// standard input).
    Verify {
        /// The file.
        file: PathBuf,
    },
}

/// `consento users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account. Without `--password-stdin` a one-time password is printed once, and
    /// the first login must replace it.
    Create {
        /// The login name (3 to 64 of a-z 0-9 . _ - @).
        #[arg(long)]
        username: String,
        /// admin, dpo, operator or auditor.
        #[arg(long)]
        role: String,
        /// The name colleagues see [default: the username].
        #[arg(long, default_value = "")]
        display_name: String,
        /// Read the password from the first line of standard input instead.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts.
    List,
    /// Give an account a new one-time password (printed once), unlock it and end its sessions.
    ResetPassword {
        /// The login name.
        username: String,
    },
}

/// `consento bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Contacts in the data set.
    #[arg(long, default_value_t = 1_000_000)]
    pub contacts: usize,
    /// Consent events per contact.
    #[arg(long, default_value_t = 3)]
    pub events_per_contact: usize,
    /// Decisions (and point lookups) per measurement.
    #[arg(long, default_value_t = 100_000)]
    pub lookups: usize,
    /// Consent writes (and raw inserts) per measurement.
    #[arg(long, default_value_t = 5_000)]
    pub writes: usize,
    /// Concurrent tasks for the concurrent measurements.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Measure on the data set an earlier `bench` loaded into this database, without loading.
    #[arg(long)]
    pub skip_load: bool,
}

/// `consento demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many contacts to create.
    #[arg(long, default_value_t = 100_000)]
    pub contacts: usize,
    /// The seed of the generator: the same seed gives the same names and consent histories.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// An on/off switch as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// The check is on.
    On,
    /// The check is off.
    Off,
}

impl Switch {
    /// Whether the switch is on.
    pub fn is_on(self) -> bool {
        self == Self::On
    }
}

/// The data controller's details (GDPR Art. 13(1)(a)–(b)); only those given change, an empty
/// value removes one. Values the configuration's `[controller]` section sets win over these.
#[derive(Debug, Clone, Default, Args)]
pub struct ControllerArgs {
    /// The controller's name (e.g. "Rossi Caldaie S.r.l.").
    #[arg(long)]
    pub controller_name: Option<String>,
    /// Its postal address.
    #[arg(long)]
    pub controller_address: Option<String>,
    /// Its email address for privacy matters.
    #[arg(long)]
    pub controller_email: Option<String>,
    /// How to reach its data protection officer (an email, an address, a phone number).
    #[arg(long)]
    pub dpo_contact: Option<String>,
    /// Where its privacy notice is published (https://…).
    #[arg(long)]
    pub privacy_notice_url: Option<String>,
}

/// `consento controller …`.
#[derive(Debug, Subcommand)]
pub enum ControllerCommand {
    /// Show the controller's details, where each comes from, and what is missing.
    Show,
    /// Set the controller's details given; the others keep their value.
    Set(ControllerArgs),
}

/// `consento settings …`.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show the privacy settings.
    Show,
    /// Turn checks on or off; the ones not given keep their value.
    Set {
        /// Single emails need a consent or a reason ("singola mail").
        #[arg(long, value_enum)]
        check_email_single: Option<Switch>,
        /// Newsletters reach only contacts with a valid consent ("per mailing list").
        #[arg(long, value_enum)]
        check_newsletter: Option<Switch>,
        /// Phone calls need a consent or a reason ("per contatto").
        #[arg(long, value_enum)]
        check_phone: Option<Switch>,
        /// SMS, single and bulk, need a consent (or a reason for a single SMS).
        #[arg(long, value_enum)]
        check_sms: Option<Switch>,
    },
}

/// `consento types …`.
#[derive(Debug, Subcommand)]
pub enum TypesCommand {
    /// List the consent types.
    List,
    /// Add a consent type.
    Add(TypeAddArgs),
    /// Change a consent type: only the fields given change.
    Update(TypeUpdateArgs),
}

/// `consento types add`.
#[derive(Debug, Args)]
pub struct TypeAddArgs {
    /// The unique code (letters, digits, `_`, `-`, `.`).
    #[arg(long)]
    pub code: String,
    /// The title shown on the contact card.
    #[arg(long)]
    pub title: String,
    /// A longer description.
    #[arg(long)]
    pub description: Option<String>,
    /// Days a consent stays valid after it is given; without it, a consent never expires.
    #[arg(long)]
    pub validity_days: Option<u32>,
    /// A valid consent permits newsletters and mass mailings.
    #[arg(long)]
    pub bulk_email: bool,
    /// A valid consent permits single emails.
    #[arg(long)]
    pub single_email: bool,
    /// A valid consent permits phone calls.
    #[arg(long)]
    pub phone: bool,
    /// A valid consent permits single SMS.
    #[arg(long)]
    pub sms_single: bool,
    /// A valid consent permits mass SMS.
    #[arg(long)]
    pub sms_bulk: bool,
    /// The preference center offers this type as a topic.
    #[arg(long)]
    pub preference_center: bool,
    /// What its consents are for: marketing, profiling, third_party or service (one type, one
    /// purpose); fixed once consents of the type are recorded.
    #[arg(long, default_value = "marketing")]
    pub purpose: String,
    /// For `--purpose third_party`: the product categories the disclosure covers, comma
    /// separated (`energy,telephony`); at least one.
    #[arg(long, value_delimiter = ',')]
    pub categories: Vec<String>,
}

/// `consento types update`. A permission flag alone turns it on; `--phone false` turns it off.
#[derive(Debug, Args)]
pub struct TypeUpdateArgs {
    /// The code of the type to change.
    #[arg(long)]
    pub code: String,
    /// A new code (refused once consents of the type are recorded).
    #[arg(long)]
    pub new_code: Option<String>,
    /// A new title.
    #[arg(long)]
    pub title: Option<String>,
    /// A new description (an empty one removes it).
    #[arg(long)]
    pub description: Option<String>,
    /// A new validity in days (applies to consents given from now on).
    #[arg(long, conflicts_with = "no_expiry")]
    pub validity_days: Option<u32>,
    /// Consents given from now on never expire.
    #[arg(long)]
    pub no_expiry: bool,
    /// Permits newsletters and mass mailings.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub bulk_email: Option<bool>,
    /// Permits single emails.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub single_email: Option<bool>,
    /// Permits phone calls.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub phone: Option<bool>,
    /// Permits single SMS.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub sms_single: Option<bool>,
    /// Permits mass SMS.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub sms_bulk: Option<bool>,
    /// Shown in the preference center.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub preference_center: Option<bool>,
    /// A new purpose (refused once consents of the type are recorded).
    #[arg(long)]
    pub purpose: Option<String>,
    /// New product categories for `third_party`, comma separated, replacing the list.
    #[arg(long, value_delimiter = ',')]
    pub categories: Option<Vec<String>>,
}

/// `consento reasons …`.
#[derive(Debug, Subcommand)]
pub enum ReasonsCommand {
    /// List the contact reasons, active first.
    List,
    /// Add a contact reason (active).
    Add {
        /// The text shown in the list.
        #[arg(long)]
        label: String,
        /// Contacting for this reason is direct marketing (never allowed under an objection).
        #[arg(long)]
        marketing: bool,
    },
    /// Change a reason: only the fields given change.
    Update {
        /// The reason's id.
        #[arg(long)]
        id: String,
        /// A new label.
        #[arg(long)]
        label: Option<String>,
        /// Whether operators can pick it.
        #[arg(long)]
        active: Option<bool>,
        /// Whether it is direct marketing.
        #[arg(long)]
        marketing: Option<bool>,
    },
}

/// `consento notices …`.
#[derive(Debug, Subcommand)]
pub enum NoticesCommand {
    /// List the published privacy notices, newest first.
    List,
    /// Publish a privacy-notice version (it can never change afterwards).
    Publish {
        /// The version label, e.g. `2025-03`.
        #[arg(long)]
        version: String,
        /// The language code, e.g. `it`.
        #[arg(long)]
        language: String,
        /// Where the text is published.
        #[arg(long)]
        url: Option<String>,
        /// A file holding the text.
        #[arg(long)]
        body_file: Option<PathBuf>,
    },
}

/// The fields of a contact, as `contacts add` and `contacts update` take them.
#[derive(Debug, Args)]
pub struct ContactFields {
    /// The CRM's id.
    #[arg(long)]
    pub external_id: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// An email address (repeat for several; the first is the primary).
    #[arg(long = "email")]
    pub emails: Vec<String>,
    /// A phone number in any common format (repeat for several; the first is the primary).
    #[arg(long = "phone")]
    pub phones: Vec<String>,
    /// Where the data came from (GDPR Art. 14(2)(f)).
    #[arg(long)]
    pub source: Option<String>,
    /// The legal basis: a–f or consent, contract, legal_obligation, vital_interests,
    /// public_task, legitimate_interests.
    #[arg(long)]
    pub legal_basis: Option<String>,
    /// A purpose of processing (repeat for several).
    #[arg(long = "purpose")]
    pub purposes: Vec<String>,
    /// A free attribute as key=value (repeat for several).
    #[arg(long = "attribute")]
    pub attributes: Vec<String>,
}

/// `consento contacts …`. A REF is a contact id, an email address, `ext:` and the CRM's id, a
/// phone number, or else the CRM's id.
#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Add a contact.
    Add(ContactFields),
    /// Show a contact card: fields, consents, justified contacts.
    Show {
        /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
        contact: String,
    },
    /// Find contacts by email, phone, external id or part of the name.
    Search {
        /// What to look for.
        query: String,
        /// At most this many results.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Change a contact: the fields given replace the stored ones (`--email ''` removes all).
    Update {
        /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
        contact: String,
        /// The new values.
        #[command(flatten)]
        fields: ContactFields,
    },
    /// Restrict processing (GDPR Art. 18): every contact is blocked until lifted.
    Restrict {
        /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
        contact: String,
        /// Lift the restriction instead; the person is told by email (GDPR Art. 18(3)).
        #[arg(long)]
        lift: bool,
        /// The language of that email: `it` or `en`; the configured `console.default_locale` if
        /// absent.
        #[arg(long, value_parser = ["it", "en"])]
        locale: Option<String>,
    },
    /// Record an objection to direct marketing (GDPR Art. 21(3)).
    Object {
        /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
        contact: String,
        /// Withdraw the objection instead.
        #[arg(long)]
        lift: bool,
    },
    /// Erase a contact (GDPR Art. 17), irreversibly: prints what is erased and what is kept.
    Erase {
        /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
        contact: String,
        /// An open erasure request of this person to complete with it.
        #[arg(long)]
        request: Option<String>,
        /// Confirm: without it nothing is erased.
        #[arg(long)]
        yes: bool,
    },
}

/// `consento retention …`.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// The contacts past the retention of their purposes (`[retention]` in the configuration
    /// file named by `CONSENTO_CONFIG`).
    List,
    /// Anonymise them, in batches, each one transaction.
    Apply {
        /// Confirm: without it nothing is anonymised.
        #[arg(long)]
        yes: bool,
    },
}

/// The flags of one consent event.
#[derive(Debug, Args)]
pub struct ConsentEventArgs {
    /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
    pub contact: String,
    /// The consent type's code.
    #[arg(long = "type")]
    pub type_code: String,
    /// When it happened: YYYY-MM-DD (that day in the configured time zone) or RFC 3339; default
    /// now; never in the future.
    #[arg(long)]
    pub date: Option<String>,
    /// How the person gave or withdrew it (required: the proof names the true method): phone,
    /// paper, email, in_person, form, operator or api (import, preference_center,
    /// double_opt_in, one_click_unsubscribe and system are recorded only by Consento's own
    /// flows).
    #[arg(long)]
    pub method: String,
    /// The privacy-notice version the person was shown.
    #[arg(long)]
    pub notice: Option<String>,
    /// Evidence: a form id, a recording reference… (kept apart from the ledger, erasable).
    #[arg(long)]
    pub evidence: Option<String>,
}

/// `consento consents …`.
#[derive(Debug, Subcommand)]
pub enum ConsentsCommand {
    /// The person gave consent.
    Give(ConsentEventArgs),
    /// The person withdrew consent.
    Withdraw(ConsentEventArgs),
    /// The person was asked and said no.
    Refuse(ConsentEventArgs),
    /// The person confirmed an existing consent; its validity starts again.
    Renew(ConsentEventArgs),
    /// The controller revoked the consent (e.g. Registro pubblico delle opposizioni).
    Revoke(ConsentEventArgs),
    /// Every consent event of a contact, with its proof.
    History {
        /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
        contact: String,
    },
}

/// `consento decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
    pub contact: String,
    /// email.single, email.bulk, phone.call, sms.single or sms.bulk.
    #[arg(long)]
    pub action: String,
    /// Decide for this instant (YYYY-MM-DD or RFC 3339) instead of now.
    #[arg(long)]
    pub at: Option<String>,
}

/// `consento justify`.
#[derive(Debug, Args)]
pub struct JustifyArgs {
    /// The contact: its id, an email address, a phone number, or the CRM's id (`ext:ID`).
    pub contact: String,
    /// email.single, phone.call or sms.single.
    #[arg(long)]
    pub action: String,
    /// The id of an active contact reason (see `consento reasons list`).
    #[arg(long)]
    pub reason: String,
    /// A note from the operator.
    #[arg(long)]
    pub note: Option<String>,
}

/// The format of the audience file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AudienceFormat {
    /// RFC 4180 CSV with a header line.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

/// `consento audience`.
#[derive(Debug, Args)]
pub struct AudienceArgs {
    /// Only consents of this type (it must permit bulk email); default: any type that does.
    #[arg(long = "type")]
    pub type_code: Option<String>,
    /// The send date (YYYY-MM-DD or RFC 3339, not in the past); default now.
    #[arg(long)]
    pub at: Option<String>,
    /// The format of the recipients.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: AudienceFormat,
    /// Where to write the recipients; `-` is standard output.
    #[arg(long, default_value = "-")]
    pub output: String,
    /// Print only the counts (eligible, and excluded per cause), on standard output.
    #[arg(long)]
    pub counts_only: bool,
    /// CSV: write every value as stored. By default a cell starting with `=`, `+`, `-`, `@`, a
    /// tab or a carriage return gets a `'` in front, so a spreadsheet shows it as text instead
    /// of running it (a `+` followed only by digits and spaces, a phone number, is left alone).
    #[arg(long)]
    pub raw_csv: bool,
}

/// `consento ledger …`.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Verify the whole hash chain and print its head.
    Verify,
}
