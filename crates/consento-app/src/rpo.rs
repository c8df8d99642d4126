//! The Registro pubblico delle opposizioni (L. 5/2018, DPR 26/2022) for every adapter: the list
//! of numbers due for a check, written in the register's format, the register's answer read
//! back and recorded as a check (audited), which revokes the consents an enrolment annuls, and
//! where the checks stand; and a telemarketing campaign's list of numbers callable now.

use consento_domain::import::{LineError, LineProblem};
use consento_domain::rpo::{
    ITALY, RpoAnswer, RpoAnswerMode, RpoExport, RpoListFormat, RpoNumberForm,
};
use consento_domain::{DomainError, Phone, Timestamp};
use consento_store::{NewRpoCheck, RpoImportReport, RpoStatus};
use sha2::{Digest, Sha256};

use std::collections::BTreeMap;

use consento_domain::{Action, ContactId, Decision};
use consento_store::{ContactRef, StoreError};

use crate::audit::By;
use crate::{App, AppError};

/// The numbers a dialer may call now for a telemarketing campaign.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CampaignList {
    /// The instant decided for.
    pub at: Timestamp,
    /// The numbers, with their contacts, by number.
    pub numbers: Vec<(ContactId, String)>,
    /// The candidates left out, counted by the cause their decision names.
    pub excluded: BTreeMap<&'static str, u64>,
}

/// An answer of the register to import.
#[derive(Debug, Clone)]
pub struct RpoAnswerFile {
    /// The answer's text.
    pub text: String,
    /// Its name, as the evidence names it.
    pub file_name: String,
    /// The list that was sent (what the answer answers), one number per line as exported.
    pub sent: String,
    /// When the register answered.
    pub answered_at: Timestamp,
    /// What a line holding a number alone means.
    pub mode: RpoAnswerMode,
    /// Who imports it (an operator's name or an account's), kept with the check.
    pub imported_by: String,
}

/// The longest name of an answer file kept with its check, in characters.
pub const MAX_FILE_NAME: usize = 255;

/// How many of the latest checks [`App::rpo_status`] gives.
pub const RECENT_CHECKS: u32 = 20;

impl App {
    /// Where the checks against the register stand now: the latest [`RECENT_CHECKS`] checks
    /// (the latest answer first), and how many numbers are due for a check (as
    /// [`App::rpo_export`] without `all` would list them), enrolled, and checked with an answer
    /// that still counts. Reads only.
    pub async fn rpo_status(&self) -> Result<RpoStatus, AppError> {
        Ok(self
            .store
            .rpo_status(
                RECENT_CHECKS,
                self.store.now(),
                self.policy.rpo.unwrap_or_default().validity_days,
            )
            .await?)
    }

    /// The numbers due for a check at `due_at` (every callable one with `all`), in the register's
    /// list format: Italian numbers only, each once.
    pub async fn rpo_export(
        &self,
        all: bool,
        due_at: Timestamp,
        form: RpoNumberForm,
    ) -> Result<RpoExport, AppError> {
        let validity = self.policy.rpo.unwrap_or_default().validity_days;
        let numbers = self.store.rpo_due_numbers(all, due_at, validity).await?;
        let phones: Vec<Phone> = numbers
            .iter()
            .filter_map(|n| Phone::parse(n, self.store.country_code()).ok())
            .collect();
        let format = RpoListFormat {
            numbers: form,
            answer_mode: RpoAnswerMode::Enrolled,
        };
        Ok(format.export(&phones))
    }

    /// Reads the register's answer and records it as one check, audited as `rpo.import` by
    /// `by`, in the check's transaction. Every bad line is named (the field `answer` or `sent`,
    /// the first lines in the message), and nothing is written.
    pub async fn rpo_import(
        &self,
        by: &By,
        file: RpoAnswerFile,
    ) -> Result<RpoImportReport, AppError> {
        self.rpo_import_checked(by, file).await?.map_err(Into::into)
    }

    /// As [`App::rpo_import`], with the bad lines of a file given back apart, each with its
    /// number, for a page to word in its reader's language; nothing is written then either.
    pub async fn rpo_import_checked(
        &self,
        by: &By,
        file: RpoAnswerFile,
    ) -> Result<Result<RpoImportReport, RpoFileFault>, AppError> {
        let policy = self.policy.rpo.unwrap_or_default();
        // The name is how the evidence names the file the register sent.
        let file_name = file.file_name.trim();
        if !(1..=MAX_FILE_NAME).contains(&file_name.chars().count()) {
            return Err(AppError::invalid(
                "file_name",
                format!("the answer file's name must be 1 to {MAX_FILE_NAME} characters"),
            ));
        }
        let answer = match read_answer(&file) {
            Ok(answer) => answer,
            Err(fault) => return Ok(Err(fault)),
        };
        let list = |phones: Vec<Phone>| {
            phones
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        let check = NewRpoCheck {
            answered_at: file.answered_at,
            valid_until: policy.check_valid_until(file.answered_at),
            file_name: file_name.to_owned(),
            file_sha256: Sha256::digest(file.text.as_bytes()).into(),
            answer_mode: match file.mode {
                RpoAnswerMode::Enrolled => "enrolled",
                RpoAnswerMode::Callable => "callable",
            },
            imported_by: file.imported_by.clone(),
        };
        let (enrolled, not_enrolled) = (list(answer.enrolled), list(answer.not_enrolled));
        let detail = serde_json::json!({
            "file": file_name, "answered_at": file.answered_at.to_rfc3339(),
            "numbers": enrolled.len() + not_enrolled.len(), "enrolled": enrolled.len(),
        });
        Ok(Ok(self
            .store
            .audited(
                by.entry("rpo.import", None, detail),
                self.store
                    .import_rpo_answer(check, &enrolled, &not_enrolled),
            )
            .await?
            .0))
    }
}

/// A file of an import of the register's answer that cannot be read: which one, and its bad
/// lines (every one of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpoFileFault {
    /// `sent` (the list sent) or `answer` (the register's answer).
    pub field: &'static str,
    /// Its bad lines, in order.
    pub errors: Vec<LineError>,
}

impl From<RpoFileFault> for AppError {
    fn from(fault: RpoFileFault) -> Self {
        let what = if fault.field == "sent" {
            "the list sent"
        } else {
            "the answer"
        };
        AppError::invalid(fault.field, describe(what, &fault.errors))
    }
}

/// The register's answer in `file`, read against the list sent, as `file.mode` says to read a
/// line holding a number alone. The list sent is read first: one number per line, as exported.
pub fn read_answer(file: &RpoAnswerFile) -> Result<RpoAnswer, RpoFileFault> {
    let mut submitted: Vec<Phone> = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in file.sent.lines().enumerate() {
        let line_no = u64::try_from(i).map_or(u64::MAX, |i| i.saturating_add(1));
        let text = line.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        match Phone::parse(text, ITALY) {
            Ok(phone) => submitted.push(phone),
            Err(e) => errors.push(LineError {
                line: line_no,
                column: "number".to_owned(),
                reason: match e {
                    DomainError::Invalid { reason, .. } => reason,
                },
                problem: Some(LineProblem::NotAPhoneNumber),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(RpoFileFault {
            field: "sent",
            errors,
        });
    }
    RpoListFormat::new(file.mode)
        .import(&file.text, &submitted)
        .map_err(|errors| RpoFileFault {
            field: "answer",
            errors,
        })
}

impl App {
    /// The numbers a dialer may call now for a telemarketing campaign: every candidate (a
    /// contact with a number and a marketing consent permitting calls) decided as a call at the
    /// ring would be, the others counted by cause. Refused (409 naming `unchecked`) when any
    /// candidate's opt-out register check is missing or no longer counts, unless
    /// `leave_out_unchecked`: a campaign must check its list first (DPR 26/2022).
    pub async fn campaign_list(&self, leave_out_unchecked: bool) -> Result<CampaignList, AppError> {
        let at = self.store.now();
        let mut list = CampaignList {
            at,
            numbers: Vec::new(),
            excluded: BTreeMap::new(),
        };
        for (id, phone) in self.store.telemarketing_candidates().await? {
            let (report, fenced) = self
                .store
                .decide_fenced(&ContactRef::Id(id), Action::PhoneCall, Some(at))
                .await?;
            let report = self
                .at_the_ring(&ContactRef::Id(id), report, &fenced)
                .await?;
            match &report.decision {
                Decision::Allowed { .. } => list.numbers.push((id, phone)),
                Decision::Blocked { cause } | Decision::NeedsJustification { cause, .. } => {
                    *list.excluded.entry(cause.code()).or_default() += 1;
                }
            }
        }
        let unchecked: u64 = ["rpo_check_missing", "rpo_check_expired"]
            .iter()
            .filter_map(|c| list.excluded.get(c))
            .sum();
        if unchecked > 0 && !leave_out_unchecked {
            return Err(StoreError::Conflict {
                field: "unchecked",
                message: format!(
                    "{unchecked} numbers have no check against the opt-out register that still counts: export them (`consento rpo export`), import the answer, or ask again leaving them out"
                ),
            }
            .into());
        }
        Ok(list)
    }
}

/// The bad lines of `what`, the first few named.
fn describe(what: &str, errors: &[LineError]) -> String {
    let shown: Vec<String> = errors.iter().take(5).map(ToString::to_string).collect();
    let more = errors.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" (and {more} more)")
    } else {
        String::new()
    };
    format!("{what} has bad lines: {}{tail}", shown.join("; "))
}
