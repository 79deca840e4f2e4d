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
}

impl Db {
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        sqlx::query_as("SELECT id, username, name, email, password_hash, disabled, role FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        sqlx::query_as(
            "SELECT id, username, name, email, password_hash, disabled, role FROM users WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Inserts the user unless the username is taken; returns whether it was inserted.
    pub async fn insert_user_if_absent(&self, user: &NewUser<'_>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO users (id, username, name, email, password_hash, created_at)
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING",
        )
        .bind(user.id)
        .bind(user.username)
        .bind(user.name)
        .bind(user.email)
        .bind(user.password_hash)
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
}
