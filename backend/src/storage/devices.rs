//! The device authorization grant (RFC 8628): a device's request, kept under the hashes of its
//! device code and its user code from the device authorization endpoint until the device
//! redeems it or it expires. Every change of state is one conditional statement, so that the
//! user's answer, the device's polls and the redemption hold across instances.

use shared::scope::ScopeSet;

use super::{Db, Result, Spaced, dispatch};
use crate::clock::Timestamp;

/// Where a device's request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user (§3.5 `authorization_pending`).
    Pending,
    /// The user logged in and allowed it: the next poll gets the tokens.
    Approved,
    /// The user said no (§3.5 `access_denied`).
    Denied,
    /// Its tokens were issued: the device code is spent.
    Redeemed,
}

impl DeviceStatus {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }
}

impl TryFrom<String> for DeviceStatus {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Redeemed]
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown device authorization status {s:?}"))
    }
}

/// A device's request as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeviceRequest {
    pub client_id: String,
    /// The authorization server it was made at; `None` for the root issuer.
    pub server_id: Option<String>,
    pub server_generation: Option<String>,
    /// What the device asked for.
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    /// The audiences its `resource` parameters named (RFC 8707); empty for none.
    #[sqlx(try_from = "String")]
    pub audiences: Spaced,
    pub expires_at: Timestamp,
    /// Seconds the device must wait between polls (§3.2 `interval`, §3.5 `slow_down`).
    pub interval_secs: i64,
    /// The last poll.
    pub last_polled_at: Option<Timestamp>,
    #[sqlx(try_from = "String")]
    pub status: DeviceStatus,
    /// Who answered, once someone did.
    pub user_id: Option<String>,
    /// What the user allowed (their role may take some scopes away).
    pub granted_scope: Option<String>,
    /// When the user logged in to allow it.
    pub auth_time: Option<Timestamp>,
    /// Why the server's access policy refused the user's approval, for the device's
    /// `access_denied`; `None` when the user denied it (or allowed it).
    pub refusal: Option<String>,
}

pub struct NewDeviceRequest<'a> {
    pub device_code_hash: &'a str,
    pub user_code_hash: &'a str,
    pub client_id: &'a str,
    pub server_id: Option<&'a str>,
    pub server_generation: Option<&'a str>,
    pub scope: &'a ScopeSet,
    pub audiences: &'a Spaced,
    pub expires_at: Timestamp,
    pub interval_secs: i64,
}

/// A user's answer on the verification page.
pub struct DeviceAnswer<'a> {
    pub user_code_hash: &'a str,
    /// Who answered: `None` for a denial without a login.
    pub user_id: Option<&'a str>,
    pub verdict: DeviceVerdict<'a>,
    pub now: Timestamp,
}

/// What the answer says.
#[derive(Clone, Copy, Debug)]
pub enum DeviceVerdict<'a> {
    /// The user logged in and allowed it, with this scope.
    Allowed(&'a ScopeSet),
    /// The user denied it.
    Denied,
    /// The user logged in and allowed it, but the server's access policy refused: why.
    Refused(&'a str),
}

const COLUMNS: &str = "client_id, server_id, server_generation, scope, audiences, expires_at,
     interval_secs, last_polled_at, status, user_id, granted_scope, auth_time, refusal";

impl Db {
    /// Stores a new request; `false` (nothing stored) if its user code is taken, which the
    /// caller answers by drawing another.
    pub async fn insert_device_request(&self, new: &NewDeviceRequest<'_>) -> Result<bool> {
        let inserted = dispatch!(self, |pool| sqlx::query(
            "INSERT INTO device_authorizations
                 (device_code_hash, user_code_hash, client_id, server_id, server_generation,
                  scope, audiences, expires_at, interval_secs, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending')
             ON CONFLICT (user_code_hash) DO NOTHING",
        )
        .bind(new.device_code_hash)
        .bind(new.user_code_hash)
        .bind(new.client_id)
        .bind(new.server_id)
        .bind(new.server_generation)
        .bind(new.scope.to_string())
        .bind(new.audiences.joined())
        .bind(new.expires_at)
        .bind(new.interval_secs)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(inserted == 1)
    }

    /// The request a user code names, whatever its state.
    pub async fn device_request_by_user_code(
        &self,
        user_code_hash: &str,
    ) -> Result<Option<DeviceRequest>> {
        let sql = format!("SELECT {COLUMNS} FROM device_authorizations WHERE user_code_hash = $1");
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(user_code_hash)
            .fetch_optional(pool)
            .await)?)
    }

    /// The request a device code names, whatever its state.
    pub async fn device_request(&self, device_code_hash: &str) -> Result<Option<DeviceRequest>> {
        let sql =
            format!("SELECT {COLUMNS} FROM device_authorizations WHERE device_code_hash = $1");
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(device_code_hash)
            .fetch_optional(pool)
            .await)?)
    }

    /// Records the user's answer, if the request is still pending and unexpired: one statement,
    /// so of two answers (two tabs, two instances) only the first counts. `false` if it was not
    /// pending any more.
    pub async fn answer_device_request(&self, answer: &DeviceAnswer<'_>) -> Result<bool> {
        let (status, scope, refusal) = match answer.verdict {
            DeviceVerdict::Allowed(scope) => {
                (DeviceStatus::Approved, Some(scope.to_string()), None)
            }
            DeviceVerdict::Denied => (DeviceStatus::Denied, None, None),
            DeviceVerdict::Refused(why) => (DeviceStatus::Denied, None, Some(why)),
        };
        let auth_time = scope.as_ref().map(|_| answer.now);
        let done = dispatch!(self, |pool| sqlx::query(
            "UPDATE device_authorizations
             SET status = $2, user_id = $3, granted_scope = $4, auth_time = $6, refusal = $7
             WHERE user_code_hash = $1 AND status = 'pending' AND expires_at > $5",
        )
        .bind(answer.user_code_hash)
        .bind(status.as_str())
        .bind(answer.user_id)
        .bind(scope)
        .bind(answer.now)
        .bind(auth_time)
        .bind(refusal)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Records a poll of the device code at `now`, if the last one is still `last_polled_at`
    /// (as the caller read it), and sets the interval to `interval_secs`. `false` if another
    /// poll came in between: one statement, so that polls racing at two instances cannot both
    /// pass as slow enough.
    pub async fn record_device_poll(
        &self,
        device_code_hash: &str,
        last_polled_at: Option<Timestamp>,
        now: Timestamp,
        interval_secs: i64,
    ) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "UPDATE device_authorizations SET last_polled_at = $3, interval_secs = $4
             WHERE device_code_hash = $1 AND last_polled_at IS NOT DISTINCT FROM $2",
        )
        .bind(device_code_hash)
        .bind(last_polled_at)
        .bind(now)
        .bind(interval_secs)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Forgets requests that expired before `before`.
    pub async fn purge_device_requests(&self, before: Timestamp) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM device_authorizations WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}
