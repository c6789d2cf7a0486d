//! Dashboard accounts: creation, lists, changes, deactivation and the first administrator.
//! Passwords and sign-in are [`super::passwords`].

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryTrait, Set,
};

use super::listing::{self, ListParams, Listed};
use super::passwords::{MIN_PASSWORD_LEN, generate_password, hash_password};
use crate::entities::user;
use crate::error::{Error, FieldError, Result};

/// The rows this service hands out, under the names its callers use.
pub use crate::entities::user::{Model as User, Role};

/// The account made on a first start with no dashboard user.
pub const INITIAL_ADMIN_EMAIL: &str = "admin@kktbot.local";

pub struct NewUser {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub role: Role,
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
    if let Err(e) = validate_name(new.name.as_deref()) {
        errors.push(e);
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::Validation(errors)) }
}

/// Longest display name.
pub const MAX_NAME_LEN: usize = 200;

fn validate_name(name: Option<&str>) -> std::result::Result<(), FieldError> {
    match name {
        Some(n) if n.chars().count() > MAX_NAME_LEN => {
            Err(FieldError::new("name", format!("must be at most {MAX_NAME_LEN} characters")))
        }
        _ => Ok(()),
    }
}

/// A name as stored: trimmed, an empty one is none.
fn clean_name(name: Option<String>) -> Option<String> {
    name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty())
}

/// Creates a dashboard account. The email is stored lower-cased; a taken email is a conflict.
pub async fn create(db: &impl ConnectionTrait, new: NewUser) -> Result<user::Model> {
    validate(&new)?;
    let hash = hash_password(new.password).await?;
    let now = Utc::now();
    let row = user::ActiveModel {
        email: Set(new.email.trim().to_lowercase()),
        password_hash: Set(hash),
        name: Set(clean_name(new.name)),
        role: Set(new.role),
        is_active: Set(true),
        token_version: Set(0),
        must_change_password: Set(false),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    row.insert(db).await.map_err(|e| listing::unique_or(e, "a user with this email already exists"))
}

/// The user a token of `version` speaks for: active, and no reset, password change or
/// deactivation since the token was issued.
pub async fn session(db: &impl ConnectionTrait, id: i32, version: i32) -> Result<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?.filter(|u| u.is_active && u.token_version == version))
}

pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<user::Model> {
    super::rows::get::<user::Entity>(db, id, "user").await
}

/// Filters of the user list.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// One page of users: `q` matches the email or the name (any case), the sort is `id`, `email`,
/// `name`, `role`, `created_at` or `last_login_at` (default `id`).
pub async fn list(db: &impl ConnectionTrait, params: &ListParams, filter: &UserFilter) -> Result<Listed<user::Model>> {
    use user::Column as C;
    let query = user::Entity::find()
        .apply_if(filter.role, |q, role| q.filter(C::Role.eq(role)))
        .apply_if(filter.is_active, |q, active| q.filter(C::IsActive.eq(active)));
    let sorts = [
        ("id", C::Id),
        ("email", C::Email),
        ("name", C::Name),
        ("role", C::Role),
        ("created_at", C::CreatedAt),
        ("last_login_at", C::LastLoginAt),
    ];
    listing::page(db, query, params, C::Search, &sorts, "id", C::Id).await
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserChanges {
    /// `Some(None)` clears the name.
    pub name: Option<Option<String>>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    /// The user's own Telegram id (requests assigned to them reach them there); `Some(None)`
    /// clears it.
    pub telegram_id: Option<Option<i64>>,
}

/// Updates a user on behalf of `actor_id`, who cannot demote or deactivate themselves.
pub async fn update(db: &impl ConnectionTrait, actor_id: i32, id: i32, changes: UserChanges) -> Result<user::Model> {
    let found = get(db, id).await?;
    let mut errors = Vec::new();
    if let Some(Some(name)) = &changes.name
        && let Err(e) = validate_name(Some(name))
    {
        errors.push(e);
    }
    if let Some(Some(telegram_id)) = changes.telegram_id
        && !(1..=MAX_TELEGRAM_ID).contains(&telegram_id)
    {
        errors.push(FieldError::new("telegram_id", "must be a Telegram user id (a positive number)"));
    }
    if actor_id == id {
        if changes.role.is_some_and(|r| r != found.role) {
            errors.push(FieldError::new("role", "you cannot change your own role"));
        }
        if changes.is_active == Some(false) {
            errors.push(FieldError::new("is_active", "you cannot deactivate yourself"));
        }
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    let mut row = found.clone().into_active_model();
    if let Some(name) = changes.name {
        row.name = Set(clean_name(name));
    }
    if let Some(role) = changes.role {
        row.role = Set(role);
    }
    if let Some(active) = changes.is_active {
        if found.is_active && !active {
            // Every session ends with the deactivation, and stays ended after a reactivation.
            row.token_version = Set(found.token_version.wrapping_add(1));
        }
        row.is_active = Set(active);
    }
    if let Some(telegram_id) = changes.telegram_id {
        row.telegram_id = Set(telegram_id);
    }
    row.updated_at = Set(Utc::now());
    row.update(db).await.map_err(|e| listing::unique_or(e, "another user has this Telegram id"))
}

/// The largest Telegram user id (Telegram's ids fit in 52 bits).
pub const MAX_TELEGRAM_ID: i64 = (1 << 52) - 1;

/// Deactivates a user (their tokens stop working at once); nobody can deactivate themselves.
pub async fn deactivate(db: &impl ConnectionTrait, actor_id: i32, id: i32) -> Result<user::Model> {
    update(db, actor_id, id, UserChanges { is_active: Some(false), ..Default::default() }).await
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

impl super::audit::Audited for User {
    const ENTITY: &'static str = "user";

    fn id(&self) -> i32 {
        self.id
    }

    fn is_active(&self) -> bool {
        self.is_active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_each_field() {
        let err =
            validate(&NewUser { email: "nope".into(), password: "short".into(), name: None, role: Role::Operator })
                .unwrap_err();
        let Error::Validation(fields) = err else { panic!("expected validation error") };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["email", "password"]);
    }
}
