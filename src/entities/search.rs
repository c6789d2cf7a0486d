//! The search text of a row (`search` column): the searched fields lower-cased by Unicode's rules,
//! one per line, written by the entity's `before_save` hook whenever one of them changes. A
//! search (`q`) is lower-cased the same way and matched with a plain `LIKE` on this one column,
//! so case folds alike on every database — SQLite's `LOWER` and `LIKE` fold only ASCII, and
//! PostgreSQL's `lower` follows the database's locale (ASCII only under `C`).

use sea_orm::{ActiveValue, DbErr};

/// Text as a search compares it.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// A searched field of an active model.
pub trait Field {
    /// Its value, when the model holds one (`None`: not set in this model).
    fn known(&self) -> Option<Option<&str>>;
    fn changed(&self) -> bool;
}

impl Field for ActiveValue<String> {
    fn known(&self) -> Option<Option<&str>> {
        match self {
            ActiveValue::Set(v) | ActiveValue::Unchanged(v) => Some(Some(v)),
            ActiveValue::NotSet => None,
        }
    }
    fn changed(&self) -> bool {
        self.is_set()
    }
}

impl Field for ActiveValue<Option<String>> {
    fn known(&self) -> Option<Option<&str>> {
        match self {
            ActiveValue::Set(v) | ActiveValue::Unchanged(v) => Some(v.as_deref()),
            ActiveValue::NotSet => None,
        }
    }
    fn changed(&self) -> bool {
        self.is_set()
    }
}

/// The search text of `fields`' values.
pub fn text<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> String {
    fields.into_iter().map(|f| fold(f.unwrap_or_default())).collect::<Vec<_>>().join("\n")
}

/// Sets `search` from `fields` on an insert (a field not set is empty) or when one of them is
/// set. An update setting some of them without the others known is refused rather than leaving
/// a stale search text.
pub fn refresh(search: &mut ActiveValue<String>, fields: &[&dyn Field], insert: bool) -> Result<(), DbErr> {
    if !insert && !fields.iter().any(|f| f.changed()) {
        return Ok(());
    }
    let mut values = Vec::with_capacity(fields.len());
    for field in fields {
        match field.known() {
            Some(value) => values.push(value),
            None if insert => values.push(None),
            None => return Err(DbErr::Custom("an update of a searched field needs every searched field".into())),
        }
    }
    *search = ActiveValue::Set(text(values));
    Ok(())
}

/// The `before_save` hook of an entity whose `search` column holds the text of `$field`s.
macro_rules! searched {
    ($($field:ident),+) => {
        #[async_trait::async_trait]
        impl ActiveModelBehavior for ActiveModel {
            async fn before_save<C>(mut self, _db: &C, insert: bool) -> Result<Self, DbErr>
            where
                C: ConnectionTrait,
            {
                self.refresh_search(insert)?;
                Ok(self)
            }
        }

        impl ActiveModel {
            /// Sets the search text for a write that bypasses `before_save` (an insert built by
            /// hand, an upsert); see [`super::search::refresh`].
            pub fn refresh_search(&mut self, insert: bool) -> Result<(), DbErr> {
                super::search::refresh(&mut self.search, &[$(&self.$field),+], insert)
            }
        }
    };
}
pub(crate) use searched;

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveValue::{NotSet, Set, Unchanged};

    #[test]
    fn cyrillic_and_latin_fold_alike() {
        assert_eq!(fold("ООО «Иванов и К°» Ёлка ABC"), "ооо «иванов и к°» ёлка abc");
        assert_eq!(text([Some("Иванов"), None, Some("7707083893")]), "иванов\n\n7707083893");
    }

    #[test]
    fn only_a_change_of_a_searched_field_rewrites_the_text() {
        let name: ActiveValue<String> = Unchanged("Иванов".into());
        let person: ActiveValue<Option<String>> = Set(Some("Пётр".into()));
        let mut search = Unchanged("old".to_string());
        refresh(&mut search, &[&name, &person], false).unwrap();
        assert_eq!(search, Set("иванов\nпётр".to_string()));

        let person: ActiveValue<Option<String>> = Unchanged(None);
        let mut search = Unchanged("kept".to_string());
        refresh(&mut search, &[&name, &person], false).unwrap();
        assert_eq!(search, Unchanged("kept".to_string()), "nothing searched changed");

        let unknown: ActiveValue<Option<String>> = NotSet;
        let changed: ActiveValue<String> = Set("Новое".into());
        assert!(refresh(&mut search, &[&changed, &unknown], false).is_err(), "a stale text is refused");
        refresh(&mut search, &[&changed, &unknown], true).unwrap();
        assert_eq!(search, Set("новое\n".to_string()), "an insert without a field: empty");
    }
}
