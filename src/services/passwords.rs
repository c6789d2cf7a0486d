//! Passwords of dashboard accounts: argon2id hashes, signing in, changing one's own password and
//! an administrator's reset to a one-time password. Each of the last three ends every session of
//! the user by raising its `token_version`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use chrono::Utc;
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};

use crate::entities::user;
use crate::error::{Error, Result};

pub const MIN_PASSWORD_LEN: usize = 10;

/// Hashes a password with argon2id (a fresh random salt, the crate's recommended parameters).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::invalid("password", format!("cannot be hashed: {e}")))
    })
    .await
    .unwrap_or_else(|e| Err(Error::invalid("password", format!("cannot be hashed: {e}"))))
}

/// Checks a password against a stored argon2 hash.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A random 20-character password.
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

/// An argon2id hash of nothing anyone knows, verified against when an email is unknown so that
/// an unknown email takes as long to refuse as a wrong password.
async fn dummy_hash() -> String {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_init(|| async { hash_password(generate_password()).await.unwrap_or_default() }).await.clone()
}

/// Why a sign-in failed. The caller is told none of this (one 401 for all); logs, metrics and
/// the audit log are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    UnknownAccount,
    WrongPassword,
    Inactive,
}

impl LoginFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginFailure::UnknownAccount => "unknown_account",
            LoginFailure::WrongPassword => "wrong_password",
            LoginFailure::Inactive => "inactive",
        }
    }
}

/// The outcome of a sign-in.
#[derive(Clone, Debug)]
pub enum Login {
    /// The active user with this email and password ([`signed_in`] records the sign-in).
    Success(user::Model),
    /// `user` is the account of that email when there is one.
    Failed { reason: LoginFailure, user: Option<user::Model> },
}

/// Checks an email and a password, writing nothing; an unknown email, a wrong password and a
/// deactivated account take about the same time.
pub async fn authenticate(db: &impl ConnectionTrait, email: &str, password: &str) -> Result<Login> {
    let found = user::Entity::find().filter(user::Column::Email.eq(email.trim().to_lowercase())).one(db).await?;
    let hash = match &found {
        Some(u) => u.password_hash.clone(),
        None => dummy_hash().await,
    };
    let verified = verify_password(password.to_string(), hash).await;
    let reason = match &found {
        None => LoginFailure::UnknownAccount,
        Some(_) if !verified => LoginFailure::WrongPassword,
        Some(u) if !u.is_active => LoginFailure::Inactive,
        Some(u) => return Ok(Login::Success(u.clone())),
    };
    Ok(Login::Failed { reason, user: found })
}

/// Records a successful sign-in: `last_login_at` is now.
pub async fn signed_in(db: &impl ConnectionTrait, user: user::Model) -> Result<user::Model> {
    let mut row = user.into_active_model();
    row.last_login_at = Set(Some(Utc::now()));
    Ok(row.update(db).await?)
}

fn check_new(new: &str, current: &str) -> Result<()> {
    if new.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::invalid("new_password", format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    if new == current {
        return Err(Error::invalid("new_password", "must differ from the current password"));
    }
    Ok(())
}

/// Stores a new password hash, ends every session and sets whether the password must be
/// changed at the next sign-in.
async fn set_password(
    db: &impl ConnectionTrait,
    found: user::Model,
    password: String,
    must_change: bool,
) -> Result<user::Model> {
    let hash = hash_password(password).await?;
    let version = found.token_version.wrapping_add(1);
    let mut row = found.into_active_model();
    row.password_hash = Set(hash);
    row.token_version = Set(version);
    row.must_change_password = Set(must_change);
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// Changes a user's own password after checking the current one (422 on `current_password`
/// when it is wrong, on `new_password` when it is too short or the same). Every session of the
/// user ends; the caller issues a fresh token from the returned user.
pub async fn change_password(db: &impl ConnectionTrait, id: i32, current: &str, new: &str) -> Result<user::Model> {
    let found = super::users::get(db, id).await?;
    if !verify_password(current.to_string(), found.password_hash.clone()).await {
        return Err(Error::invalid("current_password", "is wrong"));
    }
    check_new(new, current)?;
    set_password(db, found, new.to_string(), false).await
}

/// An administrator's reset (`by`: their user id; `None` from the command line): a one-time
/// password (returned, to be shown once) that must be changed at the next sign-in; every
/// session of the user ends. One's own password is changed, not reset.
pub async fn reset_password(db: &impl ConnectionTrait, by: Option<i32>, id: i32) -> Result<(user::Model, String)> {
    let found = super::users::get(db, id).await?;
    if by == Some(id) {
        return Err(Error::invalid("id", "you cannot reset your own password; change it instead"));
    }
    let password = generate_password();
    let user = set_password(db, found, password.clone(), true).await?;
    Ok((user, password))
}

/// The account with this email (any case), for `kktbot user reset-password --email`.
pub async fn find_by_email(db: &impl ConnectionTrait, email: &str) -> Result<user::Model> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?
        .ok_or(Error::NotFound("user"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery".into(), hash.clone()).await);
        assert!(!verify_password("wrong".into(), hash).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
    }

    #[test]
    fn a_new_password_is_long_enough_and_new() {
        assert!(check_new("short", "old-password-1").is_err());
        assert!(check_new("old-password-1", "old-password-1").is_err());
        assert!(check_new("new-password-1", "old-password-1").is_ok());
    }
}
