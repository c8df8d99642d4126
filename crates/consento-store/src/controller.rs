//! The data controller's facts as the administrator gave them (the first-run page, `consento
//! init`): one row, each fact NULL until given. Merging them with the configuration's
//! `[controller]` values, and deciding what is still missing, is the application's.

use consento_domain::ControllerDetails;

use crate::row::Cols;
use crate::{Store, StoreError, in_write_tx, on_read_pool};

impl Store {
    /// The controller's facts as stored (none given on a new installation).
    pub async fn controller_details(&self) -> Result<ControllerDetails, StoreError> {
        on_read_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT name, address, email, dpo_contact, privacy_notice_url FROM controller WHERE id = 1",
            )
            .fetch_one(pool)
            .await?;
            Ok(ControllerDetails {
                name: row.opt_text("name")?,
                address: row.opt_text("address")?,
                email: row.opt_text("email")?,
                dpo_contact: row.opt_text("dpo_contact")?,
                privacy_notice_url: row.opt_text("privacy_notice_url")?,
            })
        })
    }

    /// Replaces the controller's facts with `details` (checked here again: whatever the caller,
    /// a stored fact has the shape [`ControllerDetails::parse`] gives it); returns them as kept.
    pub async fn set_controller_details(
        &self,
        details: ControllerDetails,
    ) -> Result<ControllerDetails, StoreError> {
        let details = details.parse()?;
        let now = self.now().as_micros();
        in_write_tx!(self, tx => {
            sqlx::query(
                "UPDATE controller SET name = $1, address = $2, email = $3, dpo_contact = $4, privacy_notice_url = $5, updated_at = $6 WHERE id = 1",
            )
            .bind(&details.name)
            .bind(&details.address)
            .bind(&details.email)
            .bind(&details.dpo_contact)
            .bind(&details.privacy_notice_url)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        });
        Ok(details)
    }
}
