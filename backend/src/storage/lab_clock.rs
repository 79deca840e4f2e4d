//! The clock lab's setting (demo mode): how far every instance's clock runs ahead of the
//! system's. Each instance reads it with the revocation list (see [`crate::labs::clock`]).

use super::{Db, Result, dispatch};
use crate::clock::Timestamp;

impl Db {
    /// Seconds ahead of the system clock, as last set (0 when never set).
    pub async fn lab_clock_offset(&self) -> Result<i64> {
        let offset: Option<i64> = dispatch!(self, |pool| sqlx::query_scalar(
            "SELECT offset_secs FROM lab_clock WHERE id = 1"
        )
        .fetch_optional(pool)
        .await)?;
        Ok(offset.unwrap_or(0))
    }

    /// Sets the offset (`set_at` is the system's time, not the moved one).
    pub async fn set_lab_clock_offset(&self, offset_secs: i64, set_at: Timestamp) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "INSERT INTO lab_clock (id, offset_secs, set_at) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET offset_secs = excluded.offset_secs,
                                            set_at = excluded.set_at"
        )
        .bind(offset_secs)
        .bind(set_at)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }
}
