use std::collections::BTreeMap;

use shared::admin::{Role, UserAttribute};

use super::{Db, Error, Result, Spaced, dispatch, one_row};
use crate::clock::Timestamp;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    /// The `sub` of this user's tokens; never reused.
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    /// Argon2id, as a PHC string.
    pub password_hash: String,
    pub disabled: bool,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// The groups the user is in, by name.
    #[sqlx(rename = "group_names", try_from = "String")]
    pub groups: Spaced,
    #[sqlx(try_from = "String")]
    pub attributes: Attributes,
    pub created_at: Timestamp,
}

/// A user's custom attributes, by name, stored as a JSON object of strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes(pub BTreeMap<String, String>);

impl Attributes {
    pub fn json(&self) -> String {
        serde_json::Value::from_iter(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .to_string()
    }
}

impl TryFrom<String> for Attributes {
    type Error = serde_json::Error;

    fn try_from(raw: String) -> std::result::Result<Self, Self::Error> {
        serde_json::from_str(&raw).map(Self)
    }
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The value of `attribute`, as a custom claim carries it.
    pub fn attribute(&self, attribute: UserAttribute) -> serde_json::Value {
        match attribute {
            UserAttribute::Username => self.username.as_str().into(),
            UserAttribute::Name => self.name.as_str().into(),
            UserAttribute::Email => self.email.as_str().into(),
            UserAttribute::Role => self.role.as_str().into(),
            UserAttribute::Groups => self.groups.0.clone().into(),
        }
    }

    /// The value of the custom attribute `name` in any letter case (a user never has two
    /// that differ only in case), as a custom claim carries it; `None` if the user has none.
    pub fn custom_attribute(&self, name: &str) -> Option<serde_json::Value> {
        self.attributes
            .0
            .iter()
            .find(|(have, _)| have.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str().into())
    }

    /// Enabled and an administrator.
    fn administers(&self) -> bool {
        self.is_admin() && !self.disabled
    }
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub groups: &'a Spaced,
    pub attributes: &'a Attributes,
}

/// The fields an update changes; `None` keeps the stored value.
#[derive(Default)]
pub struct UserChanges<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub role: Option<Role>,
    pub groups: Option<&'a Spaced>,
    pub attributes: Option<&'a Attributes>,
    pub disabled: Option<bool>,
}

/// What [`Db::update_user`] did.
pub struct UserUpdated {
    pub before: User,
    pub after: User,
    /// The logins (grants) revoked because the change disabled the user.
    pub ended: Vec<super::EndedLogin>,
}

const COLUMNS: &str = "id, username, name, email, password_hash, disabled, role, group_names,
     attributes, created_at";

impl Db {
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(username)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Creates a user; [`Error::Conflict`] if the username is taken.
    pub async fn insert_user(&self, user: &NewUser<'_>, now: Timestamp) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "INSERT INTO users (id, username, name, email, password_hash, role, group_names,
                 attributes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (username) DO NOTHING",
        )
        .bind(user.id)
        .bind(user.username)
        .bind(user.name)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.role.as_str())
        .bind(user.groups.joined())
        .bind(user.attributes.json())
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        one_row(done, Error::Conflict("users.username".into()))
    }

    /// Every user, by username.
    pub async fn users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .fetch_all(pool)
            .await)?)
    }

    /// Applies `changes` in one transaction: a user it disables loses every live grant with
    /// it, and the last enabled administrator can be neither demoted nor disabled (the
    /// administrators are locked while that is decided, so two such changes on two instances
    /// cannot both pass). [`Error::NotFound`] if there is no such user, [`Error::Conflict`]
    /// naming `last administrator` if the change would leave none.
    pub async fn update_user(
        &self,
        id: &str,
        changes: &UserChanges<'_>,
        now: Timestamp,
    ) -> Result<UserUpdated> {
        let select = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        // Only a change that could remove an administrator needs them counted and locked.
        let may_remove_admin =
            changes.role.is_some_and(|r| r != Role::Admin) || changes.disabled == Some(true);
        let updated = dispatch!(self, |pool, engine| {
            let mut tx = pool.begin_with(engine.begin_write()).await?;
            let mut admins = 0;
            if may_remove_admin {
                let sql = format!(
                    "SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id{}",
                    engine.for_update()
                );
                let locked: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&mut *tx).await?;
                admins = locked.len();
            }
            let before: User = sqlx::query_as(&select)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(Error::NotFound)?;
            if may_remove_admin && before.administers() && admins <= 1 {
                return Err(Error::Conflict("last administrator".into()));
            }
            let after: User = sqlx::query_as(&format!(
                "UPDATE users SET name = coalesce($1, name), email = coalesce($2, email),
                     role = coalesce($3, role), disabled = coalesce($4, disabled),
                     group_names = coalesce($6, group_names),
                     attributes = coalesce($7, attributes)
                 WHERE id = $5 RETURNING {COLUMNS}"
            ))
            .bind(changes.name)
            .bind(changes.email)
            .bind(changes.role.map(Role::as_str))
            .bind(changes.disabled)
            .bind(id)
            .bind(changes.groups.map(Spaced::joined))
            .bind(changes.attributes.map(Attributes::json))
            .fetch_one(&mut *tx)
            .await?;
            let mut ended = Vec::new();
            if after.disabled && !before.disabled {
                ended = super::grants::revoke_user_grants!(tx, id, "user disabled", now);
            }
            tx.commit().await?;
            UserUpdated {
                before,
                after,
                ended,
            }
        });
        if updated.after.disabled && !updated.before.disabled {
            self.revoked_here(now).await;
        }
        Ok(updated)
    }

    /// Replaces the password and revokes every live grant of the user, in one transaction;
    /// returns the logins it ended. [`Error::NotFound`] if there is no such user.
    pub async fn set_password_hash(
        &self,
        id: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Vec<super::EndedLogin>> {
        let revoked = dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(password_hash)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(Error::NotFound);
            }
            let revoked = super::grants::revoke_user_grants!(tx, id, "password reset", now);
            tx.commit().await?;
            revoked
        });
        self.revoked_here(now).await;
        Ok(revoked)
    }
}
