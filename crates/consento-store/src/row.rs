//! Reading columns the same way from a SQLite row and a PostgreSQL row, so that each record is
//! decoded by one function for both backends.

use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::StoreError;

/// Typed column access shared by both backends' rows.
pub(crate) trait Cols {
    fn uuid(&self, col: &str) -> Result<Uuid, StoreError>;
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn flag(&self, col: &str) -> Result<bool, StoreError>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError>;
    fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

macro_rules! impl_cols {
    ($row:ty) => {
        impl Cols for $row {
            fn uuid(&self, col: &str) -> Result<Uuid, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn int(&self, col: &str) -> Result<i64, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn text(&self, col: &str) -> Result<String, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn flag(&self, col: &str) -> Result<bool, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
                Ok(self.try_get(col)?)
            }
            fn opt_bytes(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(self.try_get(col)?)
            }
        }
    };
}

impl_cols!(SqliteRow);
impl_cols!(PgRow);

/// A 32-byte hash column.
pub(crate) fn hash32(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt("hash is not 32 bytes"))
}

/// Lower-case hex, for showing hashes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
