//! Dashboard accounts: creation with an argon2id password hash, and the first administrator.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use chrono::Utc;
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, Set};

use crate::entities::user::{self, Role};
use crate::error::{Error, FieldError, Result};

pub const MIN_PASSWORD_LEN: usize = 10;
/// The account made on a first start with no dashboard user.
pub const INITIAL_ADMIN_EMAIL: &str = "admin@kktbot.local";

pub struct NewUser {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub role: Role,
}

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
    .expect("password hashing task panicked")
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

fn validate(new: &NewUser) -> Result<()> {
    let mut errors = Vec::new();
    let email = new.email.trim();
    let valid_email = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        });
    if !valid_email {
        errors.push(FieldError::new("email", "must be an email address such as operator@example.com"));
    }
    if new.password.chars().count() < MIN_PASSWORD_LEN {
        errors.push(FieldError::new("password", format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::Validation(errors)) }
}

/// Creates a dashboard account. The email is stored lower-cased; a taken email is a conflict.
pub async fn create(db: &impl ConnectionTrait, new: NewUser) -> Result<user::Model> {
    validate(&new)?;
    let hash = hash_password(new.password).await?;
    let now = Utc::now();
    let row = user::ActiveModel {
        email: Set(new.email.trim().to_lowercase()),
        password_hash: Set(hash),
        name: Set(new.name),
        role: Set(new.role),
        is_active: Set(true),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    row.insert(db).await.map_err(|e| {
        if super::is_unique_violation(&e) {
            Error::Conflict("a user with this email already exists".into())
        } else {
            e.into()
        }
    })
}

/// On a first start (no dashboard user at all) creates an administrator with a random password
/// and returns its email and that password, to be shown once.
pub async fn ensure_initial_admin(db: &impl ConnectionTrait) -> Result<Option<(String, String)>> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let password = generate_password();
    let created = create(
        db,
        NewUser {
            email: INITIAL_ADMIN_EMAIL.into(),
            password: password.clone(),
            name: Some("Administrator".into()),
            role: Role::Admin,
        },
    )
    .await;
    match created {
        Ok(user) => Ok(Some((user.email, password))),
        // Another instance created it at the same moment.
        Err(Error::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A random 20-character password.
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 20)
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
    fn validation_names_each_field() {
        let err =
            validate(&NewUser { email: "nope".into(), password: "short".into(), name: None, role: Role::Operator })
                .unwrap_err();
        let Error::Validation(fields) = err else { panic!("expected validation error") };
        let names: Vec<_> = fields.iter().map(|f| f.field).collect();
        assert_eq!(names, ["email", "password"]);
    }
}
