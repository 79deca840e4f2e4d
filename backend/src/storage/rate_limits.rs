//! The state of the rate limits, shared by every instance: one row per limit and key, holding
//! the generic cell rate algorithm's "theoretical arrival time" (when the key's allowance is
//! full again), in microseconds. The arithmetic is in [`crate::throttle`]; what this module
//! adds is that checking and counting an event is one statement, so concurrent events (on one
//! instance or several) are each counted against the same allowance.

use super::{Db, Result, dispatch};

/// What counting one event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hit {
    /// Counted at `at_us` (the time asked for, or the latest time already counted for the key
    /// if that is later); the key's allowance is now full again at `full_at_us`.
    Counted { full_at_us: i64, at_us: i64 },
    /// Not counted: over the limit until the allowance reaches `full_at_us` (as stored).
    Refused { full_at_us: i64 },
}

impl Db {
    /// Counts one event for (`limit`, `key`) at `now_us` if the allowance admits it, in one
    /// statement: an event is admitted while the stored time is at most `now_us + slack_us`,
    /// and moves it `interval_us` later (from `now_us` at the earliest). `now_us` is first
    /// raised to the latest time already counted for the key, so the key's clock never runs
    /// back when concurrent requests reach the database in another order than they read the
    /// clock.
    pub async fn rate_limit_hit(
        &self,
        limit: &str,
        key: &str,
        now_us: i64,
        interval_us: i64,
        slack_us: i64,
    ) -> Result<Hit> {
        let counted: Option<(i64, i64)> = dispatch!(self, |pool| {
            sqlx::query_as(
            "INSERT INTO rate_limits (name, subject, full_at, seen_at) VALUES ($1, $2, $3 + $4, $3)
             ON CONFLICT (name, subject) DO UPDATE
                 SET full_at = CASE WHEN rate_limits.full_at > $3
                                         AND rate_limits.full_at > rate_limits.seen_at
                                    THEN rate_limits.full_at
                                    WHEN rate_limits.seen_at > $3 THEN rate_limits.seen_at
                                    ELSE $3 END + $4,
                     seen_at = CASE WHEN rate_limits.seen_at > $3 THEN rate_limits.seen_at
                                    ELSE $3 END
                 WHERE rate_limits.full_at <= CASE WHEN rate_limits.seen_at > $3
                                                   THEN rate_limits.seen_at ELSE $3 END + $5
             RETURNING full_at, seen_at",
        )
        .bind(limit)
        .bind(key)
        .bind(now_us)
        .bind(interval_us)
        .bind(slack_us)
        .fetch_optional(pool)
        .await
        })?;
        if let Some((full_at_us, at_us)) = counted {
            return Ok(Hit::Counted { full_at_us, at_us });
        }
        let stored = self.rate_limit_state(limit, key).await?;
        Ok(Hit::Refused {
            full_at_us: stored.unwrap_or(now_us),
        })
    }

    /// When the allowance of (`limit`, `key`) is full again, if it is not now.
    pub async fn rate_limit_state(&self, limit: &str, key: &str) -> Result<Option<i64>> {
        Ok(self
            .rate_limit_states(&[(limit, key)])
            .await?
            .into_iter()
            .next()
            .flatten())
    }

    /// [`Db::rate_limit_state`] of several (limit, key) pairs in one round trip, in order.
    pub async fn rate_limit_states(&self, pairs: &[(&str, &str)]) -> Result<Vec<Option<i64>>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT name, subject, full_at FROM rate_limits WHERE {}",
            each_limit(pairs.len(), 1, "subject =")
        );
        let rows: Vec<(String, String, i64)> = dispatch!(self, |pool| {
            let mut query = sqlx::query_as(&sql);
            for (limit, key) in pairs {
                query = query.bind(*limit).bind(*key);
            }
            query.fetch_all(pool).await?
        });
        Ok(pairs
            .iter()
            .map(|(limit, key)| {
                rows.iter()
                    .find(|(l, k, _)| l == limit && k == key)
                    .map(|(_, _, full_at)| *full_at)
            })
            .collect())
    }

    /// The keys each of `limits` (name, threshold) holds a time past its threshold for, as
    /// (limit, key, time): the keys those limits refuse now. One round trip, on the index of
    /// the times.
    pub async fn rate_limits_over(
        &self,
        limits: &[(&str, i64)],
    ) -> Result<Vec<(String, String, i64)>> {
        let Some(lowest) = limits.iter().map(|(_, over)| *over).min() else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT name, subject, full_at FROM rate_limits WHERE full_at > $1 AND ({})",
            each_limit(limits.len(), 2, "full_at >")
        );
        Ok(dispatch!(self, |pool| {
            let mut query = sqlx::query_as(&sql).bind(lowest);
            for (limit, over) in limits {
                query = query.bind(*limit).bind(*over);
            }
            query.fetch_all(pool).await
        })?)
    }

    /// Gives back one event counted for (`limit`, `key`): the stored time moves `interval_us`
    /// earlier, never before `now_us`.
    pub async fn rate_limit_refund(
        &self,
        limit: &str,
        key: &str,
        now_us: i64,
        interval_us: i64,
    ) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "UPDATE rate_limits
                 SET full_at = CASE WHEN full_at - $3 > $4 THEN full_at - $3 ELSE $4 END
             WHERE name = $1 AND subject = $2",
        )
        .bind(limit)
        .bind(key)
        .bind(interval_us)
        .bind(now_us)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Forgets the counts whose time lies beyond `after_us`: made while the clock lab had moved
    /// the clock further ahead, they would refuse their keys for as long as it had been moved.
    /// Counts made at the present time never lie beyond now plus the longest period.
    pub async fn forget_rate_limits_after(&self, after_us: i64) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM rate_limits WHERE full_at > $1"
        )
        .bind(after_us)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// Forgets the keys whose allowance is full again: they are as good as never seen.
    pub async fn purge_rate_limits(&self, now_us: i64) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM rate_limits WHERE full_at <= $1"
        )
        .bind(now_us)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}

/// `(name = $a AND {test} $b) OR …` for `count` pairs of parameters, numbered from `first`.
fn each_limit(count: usize, first: usize, test: &str) -> String {
    (0..count)
        .map(|i| {
            let a = first + 2 * i;
            format!("(name = ${a} AND {test} ${})", a + 1)
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}
