//! The plugins that answer one event with one templated message: echo, welcome, farewell, pins.

use std::sync::Arc;

use mpbot_core::{
    Context, Error, MemberJoined, MemberLeft, MessagePinned, Plugin, PluginConfig, Router,
};
use serde::Deserialize;

use super::template::{Template, Values};
use crate::api::Message;

/// Placeholders the member plugins accept.
const MEMBER_VARS: &[&str] = &["first_name", "last_name", "username", "name", "chat_title"];
/// Placeholders `pins` accepts.
const PIN_VARS: &[&str] = &[
    "first_name",
    "last_name",
    "username",
    "name",
    "chat_title",
    "text",
];

/// Reads a greeting plugin's table (`text`, `default` when absent) into a checked template.
fn text_template(
    config: &PluginConfig,
    default: &str,
    allowed: &[&str],
) -> Result<Arc<Template>, Error> {
    let settings: TextSettings = config.deserialize()?;
    let text = settings.text.as_deref().unwrap_or(default);
    Template::parse(text, allowed)
        .map(Arc::new)
        .map_err(|reason| Error::Plugin {
            plugin: config.plugin().to_owned(),
            reason: format!("key `text`: {reason}"),
        })
}

/// `[plugins.echo]`: repeats every text message back to its chat, as a reply.
///
/// ```toml
/// [plugins.echo]
/// prefix = "you said: "   # default ""
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct EchoSettings {
    prefix: String,
}

impl Plugin for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), Error> {
        let settings: EchoSettings = config.deserialize()?;
        let prefix: Arc<str> = settings.prefix.into();
        router.on_message(move |ctx: Context, message: Message| {
            let prefix = Arc::clone(&prefix);
            async move {
                if let Some(text) = message.text_or_caption() {
                    ctx.reply(format!("{prefix}{text}")).await?;
                }
                Ok::<_, mpbot_api::Error>(())
            }
        });
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TextSettings {
    text: Option<String>,
}

/// `[plugins.welcome]`: greets each member who joins a group, one message per member.
///
/// ```toml
/// [plugins.welcome]
/// text = "Welcome to {chat_title}, {first_name}!"   # default "Welcome, {first_name}!"
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Welcome;

impl Plugin for Welcome {
    fn name(&self) -> &'static str {
        "welcome"
    }

    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), Error> {
        let template = text_template(config, "Welcome, {first_name}!", MEMBER_VARS)?;
        router.on_join(move |ctx: Context, event: MemberJoined| {
            let template = Arc::clone(&template);
            async move {
                for member in &event.members {
                    let values = Values {
                        user: Some(member),
                        chat: &event.chat,
                        text: None,
                    };
                    ctx.send(event.chat.id, template.render(&values)).await?;
                }
                Ok::<_, mpbot_api::Error>(())
            }
        });
        Ok(())
    }
}

/// `[plugins.farewell]`: says goodbye when a member leaves a group.
///
/// ```toml
/// [plugins.farewell]
/// text = "{first_name} left {chat_title}."   # default "Goodbye, {first_name}."
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Farewell;

impl Plugin for Farewell {
    fn name(&self) -> &'static str {
        "farewell"
    }

    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), Error> {
        let template = text_template(config, "Goodbye, {first_name}.", MEMBER_VARS)?;
        router.on_leave(move |ctx: Context, event: MemberLeft| {
            let template = Arc::clone(&template);
            async move {
                let values = Values {
                    user: Some(&event.member),
                    chat: &event.chat,
                    text: None,
                };
                ctx.send(event.chat.id, template.render(&values)).await?;
                Ok::<_, mpbot_api::Error>(())
            }
        });
        Ok(())
    }
}

/// `[plugins.pins]`: announces pinned messages; the placeholders name who pinned.
///
/// ```toml
/// [plugins.pins]
/// text = "{first_name} pinned: {text}"   # the default
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Pins;

impl Plugin for Pins {
    fn name(&self) -> &'static str {
        "pins"
    }

    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), Error> {
        let template = text_template(config, "{first_name} pinned: {text}", PIN_VARS)?;
        router.on_pin(move |ctx: Context, event: MessagePinned| {
            let template = Arc::clone(&template);
            async move {
                let values = Values {
                    user: event.by.as_ref(),
                    chat: &event.chat,
                    text: event.pinned.text_or_caption(),
                };
                ctx.send(event.chat.id, template.render(&values)).await?;
                Ok::<_, mpbot_api::Error>(())
            }
        });
        Ok(())
    }
}
