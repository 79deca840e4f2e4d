//! The access policies of custom authorization servers (see `crate::servers::policy`), stored
//! in evaluation order: a policy's position among its server's, a rule's among its policy's.

use shared::admin::{Role, RuleDecision};
use shared::oauth::GrantType;
use shared::scope::ScopeSet;

use super::servers::lock_server;
use super::{Db, Error, Lifetimes, Result, dispatch};

/// An access policy, with its rules in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPolicy {
    pub name: String,
    pub description: String,
    /// The client ids it applies to; empty for every client.
    pub clients: Vec<String>,
    pub rules: Vec<StoredRule>,
}

/// A rule of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRule {
    pub name: String,
    /// Empty for every grant type.
    pub grant_types: Vec<GrantType>,
    /// Empty for any user (and for grants without one).
    pub roles: Vec<Role>,
    /// The user groups it matches (a user in any); empty for any user.
    pub groups: Vec<String>,
    /// `None` for any scopes.
    pub scopes: Option<ScopeSet>,
    /// `None` for any of the server's audiences.
    pub audiences: Option<Vec<String>>,
    /// Whether one token may be for several audiences.
    pub several_audiences: bool,
    /// Whether a token exchange it allows may impersonate the subject (RFC 8693 §1.1: no
    /// `act` in the new token) instead of acting for it.
    pub impersonation: bool,
    pub decision: RuleDecision,
    pub lifetimes: Lifetimes,
}

impl StoredPolicy {
    /// What a new server starts with (Okta's default policy): every client, every grant,
    /// no lifetimes of its own (each client's, else the server-wide ones).
    pub fn default_policy() -> Self {
        Self {
            name: "Default Policy".into(),
            description: "Every client, every grant".into(),
            clients: Vec::new(),
            rules: vec![StoredRule {
                name: "Default Policy Rule".into(),
                grant_types: Vec::new(),
                roles: Vec::new(),
                groups: Vec::new(),
                scopes: None,
                audiences: None,
                several_audiences: false,
                impersonation: false,
                decision: RuleDecision::Allow,
                lifetimes: Lifetimes::default(),
            }],
        }
    }
}

/// A policy beside one of its rules (`None` for a policy without any), as the join reads them.
#[derive(sqlx::FromRow)]
struct PolicyWithRule {
    position: i32,
    name: String,
    description: String,
    clients: String,
    rule_name: Option<String>,
    grant_types: Option<String>,
    roles: Option<String>,
    group_names: Option<String>,
    scopes: Option<String>,
    audiences: Option<String>,
    several_audiences: Option<bool>,
    impersonation: Option<bool>,
    decision: Option<String>,
    #[sqlx(flatten)]
    lifetimes: Lifetimes,
}

/// The space-separated names in `raw` ('' for none), each read as a `T`.
fn names<T: std::str::FromStr>(raw: &str, what: &str) -> Result<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    raw.split(' ')
        .filter(|n| !n.is_empty())
        .map(|n| {
            n.parse()
                .map_err(|e| Error::Corrupt(format!("policy rule {what}: {e}")))
        })
        .collect()
}

impl PolicyWithRule {
    fn rule(&self) -> Result<Option<StoredRule>> {
        let Some(name) = &self.rule_name else {
            return Ok(None);
        };
        let scopes = self
            .scopes
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|e| Error::Corrupt(format!("policy rule scopes: {e}")))?;
        let decision = self
            .decision
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(|e| Error::Corrupt(format!("policy rule decision: {e}")))?;
        Ok(Some(StoredRule {
            name: name.clone(),
            grant_types: names(
                self.grant_types.as_deref().unwrap_or_default(),
                "grant type",
            )?,
            roles: names(self.roles.as_deref().unwrap_or_default(), "role")?,
            groups: names(self.group_names.as_deref().unwrap_or_default(), "group")?,
            scopes,
            audiences: self
                .audiences
                .as_deref()
                .map(|raw| names(raw, "audience"))
                .transpose()?,
            several_audiences: self.several_audiences.unwrap_or_default(),
            impersonation: self.impersonation.unwrap_or_default(),
            decision,
            lifetimes: self.lifetimes,
        }))
    }
}

/// Writes `$policies` as the policies of server `$server`, in order, with `$tx` (a transaction
/// in which the server's previous policies were deleted); a `sqlx::Result<()>`.
macro_rules! insert_policies {
    ($tx:expr, $server:expr, $policies:expr) => {
        async {
            for (position, policy) in (0i32..).zip($policies.iter()) {
                sqlx::query(
                    "INSERT INTO access_policies (server_id, position, name, description, clients)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($server)
                .bind(position)
                .bind(&policy.name)
                .bind(&policy.description)
                .bind(policy.clients.join(" "))
                .execute(&mut *$tx)
                .await?;
                for (rule_position, rule) in (0i32..).zip(policy.rules.iter()) {
                    let roles: Vec<&str> = rule.roles.iter().map(|r| r.as_str()).collect();
                    sqlx::query(
                        "INSERT INTO policy_rules (server_id, policy, position, name, grant_types,
                             roles, scopes, audiences, several_audiences, decision,
                             access_token_ttl, refresh_token_idle_ttl, refresh_token_absolute_ttl,
                             group_names, impersonation)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                             $15)",
                    )
                    .bind($server)
                    .bind(position)
                    .bind(rule_position)
                    .bind(&rule.name)
                    .bind(shared::oauth::GrantType::join(&rule.grant_types, " "))
                    .bind(roles.join(" "))
                    .bind(rule.scopes.as_ref().map(ToString::to_string))
                    .bind(rule.audiences.as_ref().map(|a| a.join(" ")))
                    .bind(rule.several_audiences)
                    .bind(rule.decision.as_str())
                    .bind(rule.lifetimes.access_token_ttl)
                    .bind(rule.lifetimes.refresh_token_idle_ttl)
                    .bind(rule.lifetimes.refresh_token_absolute_ttl)
                    .bind(rule.groups.join(" "))
                    .bind(rule.impersonation)
                    .execute(&mut *$tx)
                    .await?;
                }
            }
            Ok::<(), sqlx::Error>(())
        }
        .await
    };
}
pub(super) use insert_policies;

impl Db {
    /// The policies of server `server_id` in evaluation order, each with its rules in order;
    /// read in one statement, so a replacement running meanwhile is seen whole or not at all.
    pub async fn access_policies(&self, server_id: &str) -> Result<Vec<StoredPolicy>> {
        let rows: Vec<PolicyWithRule> = dispatch!(self, |pool| sqlx::query_as(
            "SELECT p.position, p.name, p.description, p.clients, r.name AS rule_name,
                    r.grant_types, r.roles, r.group_names, r.scopes, r.audiences,
                    r.several_audiences, r.impersonation, r.decision, r.access_token_ttl,
                    r.refresh_token_idle_ttl, r.refresh_token_absolute_ttl
             FROM access_policies p
             LEFT JOIN policy_rules r ON r.server_id = p.server_id AND r.policy = p.position
             WHERE p.server_id = $1
             ORDER BY p.position, r.position"
        )
        .bind(server_id)
        .fetch_all(pool)
        .await)?;
        let mut policies: Vec<(i32, StoredPolicy)> = Vec::new();
        for row in rows {
            let rule = row.rule()?;
            match policies.last_mut() {
                Some((position, policy)) if *position == row.position => {
                    policy.rules.extend(rule);
                }
                _ => policies.push((
                    row.position,
                    StoredPolicy {
                        name: row.name,
                        description: row.description,
                        clients: names(&row.clients, "client")?,
                        rules: rule.into_iter().collect(),
                    },
                )),
            }
        }
        Ok(policies.into_iter().map(|(_, policy)| policy).collect())
    }

    /// Replaces every policy of server `server_id` with `policies` at once; [`Error::NotFound`]
    /// if there is no such server. The server's row is locked first, so a deletion of the
    /// server runs wholly before or after this, never leaving policies without their server.
    pub async fn replace_access_policies(
        &self,
        server_id: &str,
        policies: &[StoredPolicy],
    ) -> Result<()> {
        dispatch!(self, |pool, engine| {
            let mut tx = pool.begin_with(engine.begin_write()).await?;
            lock_server!(tx, engine, server_id)?;
            sqlx::query("DELETE FROM policy_rules WHERE server_id = $1")
                .bind(server_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM access_policies WHERE server_id = $1")
                .bind(server_id)
                .execute(&mut *tx)
                .await?;
            insert_policies!(tx, server_id, policies)?;
            tx.commit().await?;
            Ok(())
        })
    }
}
