//! `{placeholder}` templates for the greeting plugins, checked when the config is read.

use std::fmt::Write as _;

use mpbot_api::{Chat, User};

/// A text with `{name}` placeholders, parsed once at registration so a typo in a placeholder is
/// a start-up error, not a strange message in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(Var),
}

/// The values a template can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Var {
    /// The user's first name, else their display name.
    FirstName,
    /// The user's last name, or nothing.
    LastName,
    /// `@username`, else the display name.
    Username,
    /// First and last name, else `@username`, else the id.
    FullName,
    /// The chat's title, else "this chat".
    ChatTitle,
    /// The text of the message the event is about (pins).
    Text,
}

impl Var {
    const ALL: [(&'static str, Var); 6] = [
        ("first_name", Var::FirstName),
        ("last_name", Var::LastName),
        ("username", Var::Username),
        ("name", Var::FullName),
        ("chat_title", Var::ChatTitle),
        ("text", Var::Text),
    ];
}

/// The values a template is rendered with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Values<'a> {
    pub(crate) user: Option<&'a User>,
    pub(crate) chat: &'a Chat,
    pub(crate) text: Option<&'a str>,
}

impl Template {
    /// Parses `text`, allowing only the placeholders in `allowed`. `{{` and `}}` are literal
    /// braces.
    pub(crate) fn parse(text: &str, allowed: &[&str]) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    let var = Var::ALL
                        .iter()
                        .find(|(n, _)| *n == name && allowed.contains(n))
                        .map(|(_, v)| *v)
                        .ok_or_else(|| {
                            format!(
                                "unknown placeholder `{{{name}}}`; this text can use {}",
                                allowed
                                    .iter()
                                    .map(|a| format!("{{{a}}}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        })?;
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Var(var));
                }
                '}' => return Err("a lone `}`: write `}}` for a literal brace".to_owned()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self { parts })
    }

    /// Renders the template.
    pub(crate) fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var(var) => {
                    let _ = write!(out, "{}", value(*var, values));
                }
            }
        }
        out
    }
}

fn value(var: Var, values: &Values<'_>) -> String {
    let user = values.user;
    match var {
        Var::FirstName => user.map_or_else(|| "someone".to_owned(), User::display_name),
        Var::LastName => user.and_then(|u| u.last_name.clone()).unwrap_or_default(),
        Var::Username => user.map_or_else(
            || "someone".to_owned(),
            |u| {
                u.username
                    .as_ref()
                    .map_or_else(|| u.display_name(), |n| format!("@{n}"))
            },
        ),
        Var::FullName => user.map_or_else(
            || "someone".to_owned(),
            |u| match (&u.first_name, &u.last_name) {
                (Some(first), Some(last)) => format!("{first} {last}"),
                _ => u.display_name(),
            },
        ),
        Var::ChatTitle => values
            .chat
            .title
            .clone()
            .unwrap_or_else(|| "this chat".to_owned()),
        Var::Text => values.text.unwrap_or("a message").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use mpbot_api::ChatType;

    use super::*;

    const ALL: &[&str] = &[
        "first_name",
        "last_name",
        "username",
        "name",
        "chat_title",
        "text",
    ];

    #[test]
    fn renders_every_placeholder_with_fallbacks() {
        let mut user = User::new(7);
        user.first_name = Some("Ada".into());
        user.last_name = Some("Lovelace".into());
        user.username = Some("ada".into());
        let mut chat = Chat::new(-100, ChatType::Group);
        chat.title = Some("Rustaceans".into());
        let template = Template::parse(
            "{first_name}|{last_name}|{username}|{name}|{chat_title}|{text}|{{x}}",
            ALL,
        )
        .unwrap();
        let values = Values {
            user: Some(&user),
            chat: &chat,
            text: Some("hi"),
        };
        assert_eq!(
            template.render(&values),
            "Ada|Lovelace|@ada|Ada Lovelace|Rustaceans|hi|{x}"
        );

        let bare = User::new(8);
        let untitled = Chat::new(5, ChatType::Private);
        let values = Values {
            user: Some(&bare),
            chat: &untitled,
            text: None,
        };
        assert_eq!(template.render(&values), "8||8|8|this chat|a message|{x}");
    }

    #[test]
    fn rejects_unknown_and_disallowed_placeholders() {
        let err = Template::parse("Hi {frist_name}", ALL).unwrap_err();
        assert!(err.contains("{frist_name}"), "{err}");
        let err = Template::parse("Hi {text}", &["first_name"]).unwrap_err();
        assert!(err.contains("{first_name}"), "{err}");
        assert!(Template::parse("a } b", ALL).is_err());
    }
}
