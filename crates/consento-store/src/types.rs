//! Consent types: title, unique code, description, validity, permissions (the seed's
//! "Tipologie consensi"). A type's code is immutable once a consent of that type is recorded, and
//! a change of validity never rewrites old proof: each event keeps the validity it was given under.

use consento_domain::{ConsentCode, ConsentTypeId, ConsentTypeSpec, Permissions, Timestamp};

use crate::row::Cols;
use crate::{ConsentType, Store, StoreError, in_write_tx, on_read_pool};

const COLUMNS: &str = "id, code, title, description, validity_days, allow_email_bulk, allow_email_single, allow_phone_call, allow_sms_single, allow_sms_bulk, show_in_preference_center, purpose, purpose_categories, created_at, updated_at";

pub(crate) fn permissions_from(row: &impl Cols) -> Result<Permissions, StoreError> {
    Ok(Permissions {
        email_bulk: row.flag("allow_email_bulk")?,
        email_single: row.flag("allow_email_single")?,
        phone_call: row.flag("allow_phone_call")?,
        sms_single: row.flag("allow_sms_single")?,
        sms_bulk: row.flag("allow_sms_bulk")?,
    })
}

pub(crate) fn validity_from(value: Option<i64>) -> Result<Option<u32>, StoreError> {
    value
        .map(|v| u32::try_from(v).map_err(|_| StoreError::Corrupt("validity_days out of range")))
        .transpose()
}

/// Binds a consent type to its INSERT or UPDATE, which share their parameters: $1 the row's key
/// (the new id, or the current code), $2–$11 the fields, $12 the instant, $13 and $14 the
/// purpose and its categories (JSON).
macro_rules! bind_type {
    ($sql:literal, $key:expr, $spec:expr, $now:expr) => {
        sqlx::query($sql)
            .bind($key)
            .bind($spec.code.as_str())
            .bind(&$spec.title)
            .bind(&$spec.description)
            .bind($spec.validity_days.map(i64::from))
            .bind($spec.permissions.email_bulk)
            .bind($spec.permissions.email_single)
            .bind($spec.permissions.phone_call)
            .bind($spec.permissions.sms_single)
            .bind($spec.permissions.sms_bulk)
            .bind($spec.show_in_preference_center)
            .bind($now)
            .bind($spec.purpose.code())
            .bind(categories_json(&$spec.purpose))
    };
}

/// Whether the ledger holds any consent of the type with code `$1`: its code is then fixed.
const TYPE_IN_USE: &str = "SELECT EXISTS (SELECT 1 FROM consent_events e JOIN consent_types t ON t.id = e.consent_type_id WHERE t.code = $1)";

/// The product categories of a purpose, as stored (a JSON array).
fn categories_json(purpose: &consento_domain::Purpose) -> String {
    serde_json::Value::from(purpose.categories().to_vec()).to_string()
}

/// Whether the purpose stored in `purpose` is marketing, ours or for third parties: what makes a
/// phone call a consent allows telemarketing.
pub(crate) fn marketing_from(row: &impl Cols) -> Result<bool, StoreError> {
    Ok(matches!(
        row.text("purpose")?.as_str(),
        "marketing" | "third_party"
    ))
}

/// The purpose stored in `purpose` and `purpose_categories`.
pub(crate) fn purpose_from(row: &impl Cols) -> Result<consento_domain::Purpose, StoreError> {
    let categories: Vec<String> = serde_json::from_str(&row.text("purpose_categories")?)
        .map_err(|_| StoreError::Corrupt("consent type categories"))?;
    consento_domain::Purpose::parse(&row.text("purpose")?, &categories)
        .map_err(|_| StoreError::Corrupt("consent type purpose"))
}

fn type_from(row: &impl Cols) -> Result<ConsentType, StoreError> {
    Ok(ConsentType {
        id: ConsentTypeId(row.uuid("id")?),
        spec: ConsentTypeSpec {
            title: row.text("title")?,
            code: ConsentCode::parse(&row.text("code")?)?,
            description: row.opt_text("description")?,
            validity_days: validity_from(row.opt_int("validity_days")?)?,
            permissions: permissions_from(row)?,
            show_in_preference_center: row.flag("show_in_preference_center")?,
            purpose: purpose_from(row)?,
        },
        created_at: Timestamp::from_micros(row.int("created_at")?),
        updated_at: Timestamp::from_micros(row.int("updated_at")?),
    })
}

impl Store {
    /// Creates a consent type; the code must be unique.
    pub async fn create_consent_type(
        &self,
        spec: ConsentTypeSpec,
    ) -> Result<ConsentType, StoreError> {
        let spec = spec.validate()?;
        let now = self.now();
        let id = ConsentTypeId(self.new_uuid(now)?);
        crate::audit::set_target_id("consent_type", id.0);
        in_write_tx!(self, tx => {
            bind_type!("INSERT INTO consent_types (id, code, title, description, validity_days, allow_email_bulk, allow_email_single, allow_phone_call, allow_sms_single, allow_sms_bulk, show_in_preference_center, created_at, updated_at, purpose, purpose_categories) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14)", id.0, spec, now.as_micros())
            .execute(&mut *tx)
            .await?;
        });
        Ok(ConsentType {
            id,
            spec,
            created_at: now,
            updated_at: now,
        })
    }

    /// Changes the consent type with code `code`. Changing the code itself is refused once any
    /// consent of the type is in the ledger (the ledger cites it).
    pub async fn update_consent_type(
        &self,
        code: &str,
        spec: ConsentTypeSpec,
    ) -> Result<ConsentType, StoreError> {
        let spec = spec.validate()?;
        let now = self.now().as_micros();
        // Appends in this process must not keep using the old validity (other processes learn it
        // from the chain trigger's refusal).
        self.append.lock().await.invalidate();
        in_write_tx!(self, tx => {
            let stored: Option<(String, String)> = sqlx::query_as("SELECT purpose, purpose_categories FROM consent_types WHERE code = $1")
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
            let purpose_changes = stored.is_some_and(|(p, c)| p != spec.purpose.code() || c != categories_json(&spec.purpose));
            if spec.code.as_str() != code || purpose_changes {
                let used: bool = sqlx::query_scalar(TYPE_IN_USE)
                .bind(code)
                .fetch_one(&mut *tx)
                .await?;
                if used && spec.code.as_str() != code {
                    return Err(StoreError::conflict("code", "the code of a consent type in use cannot change"));
                }
                // The consents recorded were given for the purpose as it was (GDPR Art. 7(1):
                // the proof is of what the person agreed to).
                if used {
                    return Err(StoreError::conflict("purpose", "the purpose of a consent type in use cannot change: the consents recorded were given for it; create a new type"));
                }
            }
            let row = bind_type!("UPDATE consent_types SET code = $2, title = $3, description = $4, validity_days = $5, allow_email_bulk = $6, allow_email_single = $7, allow_phone_call = $8, allow_sms_single = $9, allow_sms_bulk = $10, show_in_preference_center = $11, updated_at = $12, purpose = $13, purpose_categories = $14, code_case_clash = (code_case_clash AND code = $2) WHERE code = $1 RETURNING id, code, title, description, validity_days, allow_email_bulk, allow_email_single, allow_phone_call, allow_sms_single, allow_sms_bulk, show_in_preference_center, purpose, purpose_categories, created_at, updated_at", code, spec, now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("consent type"))?;
            type_from(&row)
        })
    }

    /// Every consent type, by title.
    pub async fn consent_types(&self) -> Result<Vec<ConsentType>, StoreError> {
        on_read_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM consent_types ORDER BY title, code")))
                .fetch_all(pool)
                .await?
                .iter()
                .map(type_from)
                .collect()
        })
    }

    /// Whether a consent of the type with code `code` is in the ledger, so that its code can no
    /// longer change (the console shows the code read-only then).
    pub async fn consent_type_in_use(&self, code: &str) -> Result<bool, StoreError> {
        on_read_pool!(self, pool => {
            Ok(sqlx::query_scalar(TYPE_IN_USE).bind(code.trim()).fetch_one(pool).await?)
        })
    }

    /// One consent type by code.
    pub async fn consent_type(&self, code: &str) -> Result<ConsentType, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM consent_types WHERE code = $1")))
                .bind(code.trim())
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::not_found("consent type"))?;
            type_from(&row)
        })
    }
}
