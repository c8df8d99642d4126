//! Every change the API makes is in the audit trail, in the change's own transaction, as the
//! token that asked ([`super::auth::Auth::by`]). A handler that calls the store's write methods
//! wraps them in [`consento_app::App::audited`]; one that calls a use case of the app (whose
//! error is the app's) wraps it in [`use_case`]: the entry then rides with the use case's store
//! writes (a task-local scope), so that the change and its entry are still one transaction. Once
//! the app's use cases take who asks (`&By`) and audit themselves, their calls here lose it.

use std::future::Future;

use consento_app::audit::By;
use consento_app::{App, AppError};
use serde_json::Value;

/// Runs `run` (a call of a use case of the app, whose store writes then carry the entry) with the
/// entry of `by` for `action` recorded in the same transaction as the first change it commits:
/// a change whose entry cannot be written is rolled back, and a use case that fails before
/// changing anything records nothing. The use case's own error is returned as it is.
pub async fn use_case<T>(
    app: &App,
    by: &By,
    action: &str,
    target: Option<(&str, String)>,
    detail: Value,
    run: impl Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    app.audited(by, action, target, detail, async { Ok(run.await) })
        .await
        .and_then(|done| done)
}
