//! Every user-facing text of the bot, from the Fluent files in `locales/` (Russian by default,
//! English for users whose Telegram language is English or who chose it with /lang).

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use serde::{Deserialize, Serialize};

const RU: &str = include_str!("../../locales/ru/bot.ftl");
const EN: &str = include_str!("../../locales/en/bot.ftl");

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Ru,
    En,
}

impl Lang {
    /// The language for a user: their stored choice, else English for `en*` Telegram clients,
    /// else Russian.
    pub fn for_user(chosen: Option<&str>, language_code: Option<&str>) -> Lang {
        match chosen {
            Some("en") => Lang::En,
            Some("ru") => Lang::Ru,
            _ if language_code.is_some_and(|c| c.to_ascii_lowercase().starts_with("en")) => Lang::En,
            _ => Lang::Ru,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

/// The loaded texts of both languages.
pub struct Texts {
    ru: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Texts")
    }
}

fn bundle(lang: unic_langid::LanguageIdentifier, source: &str) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(source.to_string()).unwrap_or_else(|(_, errors)| {
        panic!("locales/{lang}/bot.ftl does not parse: {errors:?}");
    });
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // Telegram shows the Unicode isolation marks Fluent adds around arguments; leave them out.
    bundle.set_use_isolating(false);
    bundle.add_resource(resource).expect("message ids are unique");
    bundle
}

impl Default for Texts {
    fn default() -> Self {
        Self::new()
    }
}

impl Texts {
    pub fn new() -> Self {
        Self { ru: bundle(unic_langid::langid!("ru"), RU), en: bundle(unic_langid::langid!("en"), EN) }
    }

    /// The text `id` in `lang`, with arguments given as (name, value) pairs.
    pub fn get(&self, lang: Lang, id: &str, args: &[(&str, Arg)]) -> String {
        let bundle = match lang {
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        };
        let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
            tracing::error!(id, lang = lang.code(), "missing bot text");
            return id.to_string();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            let value = match value {
                Arg::Str(s) => FluentValue::from(s.clone()),
                Arg::Int(n) => FluentValue::from(*n),
            };
            fluent_args.set(*name, value);
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if !errors.is_empty() {
            tracing::error!(id, ?errors, "bot text arguments");
        }
        text.into_owned()
    }

    /// Message ids defined by a language's file, sorted.
    #[cfg(test)]
    fn ids(source: &str) -> Vec<String> {
        let resource = FluentResource::try_new(source.to_string()).expect("parses");
        let mut ids: Vec<String> = resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect();
        ids.sort();
        ids
    }
}

/// An argument of a text.
#[derive(Clone, Debug)]
pub enum Arg {
    Str(String),
    Int(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Str(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Str(s)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

impl From<i32> for Arg {
    fn from(n: i32) -> Self {
        Arg::Int(n.into())
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::Int(n as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_define_the_same_messages() {
        let ru = Texts::ids(RU);
        let en = Texts::ids(EN);
        let only_ru: Vec<_> = ru.iter().filter(|id| !en.contains(id)).collect();
        let only_en: Vec<_> = en.iter().filter(|id| !ru.contains(id)).collect();
        assert!(only_ru.is_empty() && only_en.is_empty(), "only in ru: {only_ru:?}; only in en: {only_en:?}");
        assert!(ru.len() > 40);
    }

    #[test]
    fn texts_are_formatted_without_isolation_marks() {
        let texts = Texts::new();
        let ru = texts.get(Lang::Ru, "request-submitted", &[("number", 42.into())]);
        assert_eq!(ru, "Заявка №42 принята. Мы сообщим о решении.");
        let en = texts.get(Lang::En, "client-request-approved", &[("number", 7.into())]);
        assert_eq!(en, "Request #7 approved.");
        assert!(!texts.get(Lang::Ru, "start-greeting", &[("name", "Иван".into())]).contains('\u{2068}'));
    }

    #[test]
    fn russian_plurals_follow_the_number() {
        let texts = Texts::new();
        let days = |n: i64| {
            let args = [
                ("type", Arg::from("ФН")),
                ("date", "01.03.2027".into()),
                ("client", "ООО «Ромашка»".into()),
                ("register", "".into()),
                ("days", n.into()),
            ];
            texts.get(Lang::Ru, "reminder", &args)
        };
        assert!(days(1).contains("остался 1 день"), "{}", days(1));
        assert!(days(3).contains("осталось 3 дня"), "{}", days(3));
        assert!(days(7).contains("осталось 7 дней"), "{}", days(7));
        assert!(days(0).contains("сегодня"), "{}", days(0));
    }

    #[test]
    fn language_follows_choice_then_telegram_language() {
        assert_eq!(Lang::for_user(None, Some("en-GB")), Lang::En);
        assert_eq!(Lang::for_user(None, Some("ru")), Lang::Ru);
        assert_eq!(Lang::for_user(None, None), Lang::Ru);
        assert_eq!(Lang::for_user(Some("ru"), Some("en")), Lang::Ru);
        assert_eq!(Lang::for_user(Some("en"), Some("de")), Lang::En);
    }
}
