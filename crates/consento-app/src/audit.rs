//! Who made a change, and the audit entry it leaves (GDPR Art. 5(2): the controller must be
//! able to show who changed what). Every write of a use case runs inside [`App::audited`]: the
//! store writes the entry in the change's own transaction, so that neither exists without the
//! other, whichever adapter (API, console, command line, worker) asked.

use std::future::Future;

use consento_store::{AuditActor, AuditInput, StoreError};
use serde_json::Value;

use crate::{App, AppError};

/// Who does something, as the audit trail names them: a console account, an API token, or the
/// system (the command line, named by its `--operator`, or a worker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct By {
    actor: AuditActor,
    via: Option<&'static str>,
    operator: Option<String>,
}

impl By {
    /// A console account.
    pub fn user(id: uuid::Uuid) -> Self {
        Self {
            actor: AuditActor::User(id),
            via: None,
            operator: None,
        }
    }

    /// An API token.
    pub fn token(id: uuid::Uuid) -> Self {
        Self {
            actor: AuditActor::Token(id),
            via: None,
            operator: None,
        }
    }

    /// The command line, run by `operator` (its `--operator`, recorded in the entry's detail:
    /// the command line has no account).
    pub fn command_line(operator: &str) -> Self {
        Self {
            actor: AuditActor::System,
            via: Some("command_line"),
            operator: Some(operator.to_owned()),
        }
    }

    /// Consento itself (a worker, a scheduled run).
    pub fn system() -> Self {
        Self {
            actor: AuditActor::System,
            via: None,
            operator: None,
        }
    }

    /// The person the data is about, on the public pages (unsubscribe, preference center,
    /// double opt-in): no account; the consent ledger names them as its actor.
    pub fn person() -> Self {
        Self {
            actor: AuditActor::System,
            via: Some("self_service"),
            operator: None,
        }
    }

    /// Whether this is Consento itself or the person on its public pages: its own flows (the
    /// preference center, the double opt-in, the one-click unsubscribe, imports, rules), the
    /// only ones that may record the collection methods they stand for
    /// ([`consento_domain::CollectionMethod::is_consentos_own`]). A console account, an API
    /// token and the command line are not.
    pub fn is_consento(&self) -> bool {
        self.actor == AuditActor::System && self.via != Some("command_line")
    }

    /// Who it is, as a record that keeps it beside a fact says it: `user:<id>`, `token:<id>`,
    /// `command_line:<operator>`, `self_service` or `system`.
    pub fn label(&self) -> String {
        match (self.actor, self.via, &self.operator) {
            (AuditActor::User(id), ..) => format!("user:{id}"),
            (AuditActor::Token(id), ..) => format!("token:{id}"),
            (AuditActor::System, Some("command_line"), Some(op)) => format!("command_line:{op}"),
            (AuditActor::System, Some(via), _) => via.to_owned(),
            (AuditActor::System, None, _) => "system".to_owned(),
        }
    }

    /// The audit trail's view of who it is.
    pub fn actor(&self) -> AuditActor {
        self.actor
    }

    /// The entry for `action` on `target` (a record's kind and id, never a name or an
    /// address) with `detail` (a JSON object: what changed).
    pub fn entry(
        &self,
        action: &str,
        target: Option<(&str, String)>,
        mut detail: Value,
    ) -> AuditInput {
        if let Some(map) = detail.as_object_mut() {
            if let Some(via) = self.via {
                map.insert("via".to_owned(), Value::from(via));
            }
            if let Some(operator) = &self.operator {
                map.insert("operator".to_owned(), Value::from(operator.as_str()));
            }
        }
        self.actor.entry(action, target, detail)
    }
}

impl App {
    /// Runs `write` (calls of the store's write methods) with the entry of `by` for `action`
    /// recorded in the same transaction as the change it makes (none when it changes nothing).
    /// A change whose entry cannot be written is rolled back.
    pub async fn audited<T>(
        &self,
        by: &By,
        action: &str,
        target: Option<(&str, String)>,
        detail: Value,
        write: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, AppError> {
        let (out, _) = self
            .store
            .audited(by.entry(action, target, detail), write)
            .await?;
        Ok(out)
    }

    /// Records an action that changes nothing but must be traceable (a record viewed, exported
    /// or a decision asked, Art. 5(2)), before its answer is given.
    pub async fn trace(
        &self,
        by: &By,
        action: &str,
        target: Option<(&str, String)>,
        detail: Value,
    ) -> Result<(), AppError> {
        Ok(self.store.audit(by.entry(action, target, detail)).await?)
    }
}
