use shared::scope::ScopeSet;

use super::{Db, Result, dispatch};
use crate::clock::Timestamp;

/// A login under way (`/bff/login` → `/bff/callback`).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BffLogin {
    pub state: String,
    pub code_verifier: String,
    #[sqlx(try_from = "String")]
    pub requested_scope: ScopeSet,
    pub return_to: String,
    /// Sealed; see `bff::login`.
    pub replaces: Option<Vec<u8>>,
    pub expires_at: Timestamp,
}

/// A backend-for-frontend session, as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BffSessionRow {
    pub id_hash: String,
    pub subject: String,
    /// The login (grant) its tokens belong to: a back-channel logout token names it as `sid`
    /// (OpenID Connect Back-Channel Logout 1.0 §2.4). `None` for a session started before it
    /// was recorded.
    pub grant_id: Option<String>,
    #[sqlx(try_from = "String")]
    pub requested_scope: ScopeSet,
    /// Sealed; see `bff::session`.
    pub tokens: Vec<u8>,
    pub access_expires_at: Timestamp,
    pub refreshable: bool,
    /// JSON array of `shared::bff::Exchange`.
    pub exchanges: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Which sessions a logout ends.
#[derive(Clone, Copy, Debug)]
pub enum EndedLogins<'a> {
    /// Those of one login (its grant id, the logout token's `sid`), of the user `sub` when
    /// the token names one.
    Login { sid: &'a str, sub: Option<&'a str> },
    /// Every session of a user (the logout token's `sub`).
    Subject(&'a str),
}

/// The right to renew one session's tokens, held by one request of one instance until
/// `until`: concurrent calls that find the access token stale (on this instance or another)
/// make exactly one refresh, and the others wait for its result.
pub struct RefreshLease<'a> {
    pub session: &'a str,
    /// Unique per request that claims it.
    pub holder: &'a str,
    pub until: Timestamp,
}

const SESSION_COLUMNS: &str = "id_hash, subject, requested_scope, tokens, access_expires_at,
     refreshable, exchanges, created_at, last_seen_at, expires_at, grant_id";

impl Db {
    pub async fn insert_bff_login(&self, id_hash: &str, login: &BffLogin) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "INSERT INTO bff_logins
                 (id_hash, state, code_verifier, requested_scope, return_to, replaces, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id_hash)
        .bind(&login.state)
        .bind(&login.code_verifier)
        .bind(login.requested_scope.to_string())
        .bind(&login.return_to)
        .bind(&login.replaces)
        .bind(login.expires_at)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    pub async fn bff_login(&self, id_hash: &str) -> Result<Option<BffLogin>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT state, code_verifier, requested_scope, return_to, replaces, expires_at
             FROM bff_logins WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(pool)
        .await)?)
    }

    /// Deletes the login; `false` if another request already did: a callback uses it once.
    pub async fn take_bff_login(&self, id_hash: &str) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "DELETE FROM bff_logins WHERE id_hash = $1"
        )
        .bind(id_hash)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// How many sessions are live at `now` (on the index of their expiry).
    pub async fn count_bff_sessions(&self, now: Timestamp) -> Result<i64> {
        Ok(dispatch!(self, |pool| sqlx::query_scalar(
            "SELECT count(*) FROM bff_sessions WHERE expires_at > $1"
        )
        .bind(now)
        .fetch_one(pool)
        .await)?)
    }

    pub async fn insert_bff_session(&self, row: &BffSessionRow) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(&format!(
            "INSERT INTO bff_sessions ({SESSION_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&row.id_hash)
        .bind(&row.subject)
        .bind(row.requested_scope.to_string())
        .bind(&row.tokens)
        .bind(row.access_expires_at)
        .bind(row.refreshable)
        .bind(&row.exchanges)
        .bind(row.created_at)
        .bind(row.last_seen_at)
        .bind(row.expires_at)
        .bind(&row.grant_id)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Deletes the sessions a back-channel logout token names: those of the login `sid`, or,
    /// without one, every session of `subject` (OpenID Connect Back-Channel Logout 1.0 §2.6).
    /// The number deleted.
    pub async fn end_bff_sessions(&self, ended: EndedLogins<'_>) -> Result<u64> {
        let (sid, sub) = match ended {
            EndedLogins::Login { sid, sub } => (Some(sid), sub),
            EndedLogins::Subject(sub) => (None, Some(sub)),
        };
        // A session started before its login was recorded (`grant_id` NULL) ends with every
        // login of its user: it cannot be told apart.
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM bff_sessions
             WHERE (grant_id = $1 AND ($2 IS NULL OR subject = $2))
                OR ((grant_id IS NULL OR $1 IS NULL) AND subject = $2)"
        )
        .bind(sid)
        .bind(sub)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    pub async fn bff_session(&self, id_hash: &str) -> Result<Option<BffSessionRow>> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM bff_sessions WHERE id_hash = $1");
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(id_hash)
            .fetch_optional(pool)
            .await)?)
    }

    /// Claims the right to refresh a session whose access token expires before `due`, and
    /// returns the session as it is stored at that moment (the tokens to refresh with): `Some`
    /// if this request got the lease (none was held, or the holder's ran out, say because its
    /// instance died), `None` if another request holds it or the tokens were renewed already.
    pub async fn claim_bff_refresh(
        &self,
        lease: &RefreshLease<'_>,
        now: Timestamp,
        due: Timestamp,
    ) -> Result<Option<BffSessionRow>> {
        let sql = format!(
            "UPDATE bff_sessions SET refresh_holder = $1, refresh_until = $2
             WHERE id_hash = $3 AND access_expires_at <= $4
               AND (refresh_until IS NULL OR refresh_until <= $5)
             RETURNING {SESSION_COLUMNS}"
        );
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(lease.holder)
            .bind(lease.until)
            .bind(lease.session)
            .bind(due)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Stores renewed tokens (after a refresh) and the exchange log, and gives the lease back;
    /// `false` if the lease was no longer this request's.
    pub async fn finish_bff_refresh(
        &self,
        lease: &RefreshLease<'_>,
        tokens: &[u8],
        access_expires_at: Timestamp,
        exchanges: &str,
    ) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "UPDATE bff_sessions SET tokens = $1, access_expires_at = $2, refreshable = TRUE,
                 exchanges = $3, refresh_holder = NULL, refresh_until = NULL
             WHERE id_hash = $4 AND refresh_holder = $5",
        )
        .bind(tokens)
        .bind(access_expires_at)
        .bind(exchanges)
        .bind(lease.session)
        .bind(lease.holder)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Gives a lease back without renewing (the refresh failed but the session lives on),
    /// recording the attempt in the exchange log when there is one to record.
    pub async fn release_bff_refresh(
        &self,
        lease: &RefreshLease<'_>,
        exchanges: Option<&str>,
    ) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "UPDATE bff_sessions SET refresh_holder = NULL, refresh_until = NULL,
                 exchanges = coalesce($1, exchanges)
             WHERE id_hash = $2 AND refresh_holder = $3",
        )
        .bind(exchanges)
        .bind(lease.session)
        .bind(lease.holder)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    pub async fn touch_bff_session(&self, id_hash: &str, now: Timestamp) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "UPDATE bff_sessions SET last_seen_at = $1 WHERE id_hash = $2"
        )
        .bind(now)
        .bind(id_hash)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    pub async fn delete_bff_session(&self, id_hash: &str) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "DELETE FROM bff_sessions WHERE id_hash = $1"
        )
        .bind(id_hash)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Forgets logins and sessions that can no longer be used: past their lifetime, or idle
    /// since before `idle_since`.
    pub async fn purge_bff(&self, now: Timestamp, idle_since: Timestamp) -> Result<u64> {
        dispatch!(self, |pool| {
            let logins = sqlx::query("DELETE FROM bff_logins WHERE expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?;
            let sessions =
                sqlx::query("DELETE FROM bff_sessions WHERE expires_at < $1 OR last_seen_at < $2")
                    .bind(now)
                    .bind(idle_since)
                    .execute(pool)
                    .await?;
            Ok(logins.rows_affected() + sessions.rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Settings;

    fn session(id: &str, subject: &str, grant_id: Option<&str>) -> BffSessionRow {
        let now = Timestamp::from_unix(1_000);
        BffSessionRow {
            id_hash: id.into(),
            subject: subject.into(),
            grant_id: grant_id.map(str::to_owned),
            requested_scope: ScopeSet::parse("profile").unwrap(),
            tokens: vec![1, 2, 3],
            access_expires_at: now,
            refreshable: true,
            exchanges: "[]".into(),
            created_at: now,
            last_seen_at: now,
            expires_at: now.plus_secs(3600),
        }
    }

    async fn left(db: &Db, ids: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for id in ids {
            if db.bff_session(id).await.unwrap().is_some() {
                out.push((*id).to_owned());
            }
        }
        out
    }

    /// A logout token's `sid` ends that login's sessions, and those of its user whose login
    /// was not recorded (started before it was); never another user's.
    #[tokio::test]
    async fn a_logout_ends_the_sessions_of_the_login_and_the_unrecorded_ones_of_its_user() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let db = Db::connect(&Settings::new(&url)).await.unwrap();
        let ids = ["a-g1", "a-g2", "a-old", "b-g3", "b-old"];
        for row in [
            session("a-g1", "usr_a", Some("g1")),
            session("a-g2", "usr_a", Some("g2")),
            session("a-old", "usr_a", None),
            session("b-g3", "usr_b", Some("g3")),
            session("b-old", "usr_b", None),
        ] {
            db.insert_bff_session(&row).await.unwrap();
        }
        let ended = EndedLogins::Login {
            sid: "g1",
            sub: Some("usr_a"),
        };
        assert_eq!(db.end_bff_sessions(ended).await.unwrap(), 2);
        assert_eq!(left(&db, &ids).await, ["a-g2", "b-g3", "b-old"]);
        // A sid of another user's login with this user's sub ends nothing of theirs.
        let mismatched = EndedLogins::Login {
            sid: "g3",
            sub: Some("usr_a"),
        };
        assert_eq!(db.end_bff_sessions(mismatched).await.unwrap(), 0);
        assert_eq!(
            db.end_bff_sessions(EndedLogins::Subject("usr_b"))
                .await
                .unwrap(),
            2
        );
        assert_eq!(left(&db, &ids).await, ["a-g2"]);
    }
}
