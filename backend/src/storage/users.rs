use super::{Db, Result, now};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub password_hash: String,
    pub disabled: bool,
    /// `user` or `admin`.
    pub role: String,
    pub created_at: i64,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
}

/// The fields an update changes; `None` keeps the stored value.
#[derive(Default)]
pub struct UserChanges<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub role: Option<&'a str>,
    pub disabled: Option<bool>,
}

const SELECT: &str =
    "SELECT id, username, name, email, password_hash, disabled, role, created_at FROM users";

impl Db {
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        sqlx::query_as(&format!("{SELECT} WHERE username = ?"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        sqlx::query_as(&format!("{SELECT} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Inserts the user unless the username is taken; returns whether it was inserted.
    pub async fn insert_user_if_absent(&self, user: &NewUser<'_>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO users (id, username, name, email, password_hash, role, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING",
        )
        .bind(user.id)
        .bind(user.username)
        .bind(user.name)
        .bind(user.email)
        .bind(user.password_hash)
        .bind(user.role)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn username_exists(&self, username: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// Every user, by username.
    pub async fn users(&self) -> Result<Vec<User>> {
        sqlx::query_as(&format!("{SELECT} ORDER BY username"))
            .fetch_all(&self.pool)
            .await
    }

    /// Applies `changes`; `None` if there is no such user.
    pub async fn update_user(&self, id: &str, changes: &UserChanges<'_>) -> Result<Option<User>> {
        sqlx::query_as(
            "UPDATE users SET name = coalesce(?, name), email = coalesce(?, email),
                 role = coalesce(?, role), disabled = coalesce(?, disabled)
             WHERE id = ?
             RETURNING id, username, name, email, password_hash, disabled, role, created_at",
        )
        .bind(changes.name)
        .bind(changes.email)
        .bind(changes.role)
        .bind(changes.disabled)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// `false` if there is no such user.
    pub async fn set_password_hash(&self, id: &str, password_hash: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many enabled administrators there are (the last one cannot be demoted or disabled).
    pub async fn count_active_admins(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0")
            .fetch_one(&self.pool)
            .await
    }
}
