//! The router: which handler gets an update, by [`UpdateKind`].

use std::fmt;
use std::sync::Arc;

use mpbot_api::{Message, Update};

use crate::event::{self, Command, MemberJoined, MemberLeft, MessagePinned};
use crate::handler::{ErasedHandler, Handler, erase};
use crate::plugin::{Plugin, PluginConfig};
use crate::{Error, UpdateKind};

/// One registered handler.
struct Route {
    /// Where the handler came from, for logs: a plugin's name or `"app"`.
    owner: &'static str,
    /// The handler, erased once at registration.
    handler: Arc<dyn ErasedHandler>,
}

/// Maps each [`UpdateKind`] to its handlers, in registration order.
///
/// # Which handler runs
/// One handler takes each update: the first one registered for its kind. For a plain message,
/// a command addressed to this bot (`/name` or `/name@this_bot`) goes first to the first
/// handler registered with [`Router::command`] for that name; any other message (including a
/// command no one registered, and a command addressed to another bot, `/name@other_bot`) goes
/// to the first [`Router::on_message`] handler. An `Other` update goes to the first handler for
/// its field name, else to the first [`Router::on_any_other`] handler. What no handler takes
/// goes to the [`Router::fallback`], if any, and is otherwise counted as unhandled.
///
/// # Examples
///
/// ```
/// use mpbot_core::{Context, HandlerError, Router};
/// use mpbot_core::api::Message;
///
/// async fn echo(ctx: Context, message: Message) -> Result<(), HandlerError> {
///     if let Some(text) = message.text {
///         ctx.reply(text).await?;
///     }
///     Ok(())
/// }
///
/// let mut router = Router::new();
/// router
///     .command("start", |ctx: Context, _cmd| async move {
///         ctx.reply("Hello!").await.map(drop)
///     })
///     .on_message(echo);
/// assert_eq!(router.allowed_updates(), Some(vec!["message".to_owned()]));
/// ```
#[derive(Default)]
pub struct Router {
    /// Command handlers by name, in registration order.
    commands: Vec<(String, Route)>,
    /// Plain message handlers.
    message: Vec<Route>,
    /// Join handlers.
    join: Vec<Route>,
    /// Leave handlers.
    leave: Vec<Route>,
    /// Pin handlers.
    pin: Vec<Route>,
    /// Handlers for one `Other` field name.
    other: Vec<(String, Route)>,
    /// Handlers for every `Other` kind.
    any_other: Vec<Route>,
    /// Takes what no handler takes.
    fallback: Option<Route>,
    /// Registered plugins, for their lifecycle hooks.
    plugins: Vec<Arc<dyn Plugin>>,
    /// Who is registering right now (a plugin's name while its `register` runs).
    owner: &'static str,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |routes: &[(String, Route)]| {
            routes
                .iter()
                .map(|(name, _)| name.clone())
                .collect::<Vec<_>>()
        };
        f.debug_struct("Router")
            .field("commands", &names(&self.commands))
            .field("message", &self.message.len())
            .field("join", &self.join.len())
            .field("leave", &self.leave.len())
            .field("pin", &self.pin.len())
            .field("other", &names(&self.other))
            .field("any_other", &self.any_other.len())
            .field("fallback", &self.fallback.is_some())
            .field(
                "plugins",
                &self.plugins.iter().map(|p| p.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self {
            owner: "app",
            ..Self::default()
        }
    }

    fn route(&self, handler: Arc<dyn ErasedHandler>) -> Route {
        Route {
            owner: if self.owner.is_empty() {
                "app"
            } else {
                self.owner
            },
            handler,
        }
    }

    /// Handles plain messages (not group events).
    pub fn on_message<H: Handler<Message>>(&mut self, handler: H) -> &mut Self {
        let route = self.route(erase(handler, |u, _| event::take_message(u)));
        self.message.push(route);
        self
    }

    /// Handles the command `/name` (and `/name@this_bot`; never `/name@other_bot`).
    /// `name` is given without the slash.
    pub fn command<H: Handler<Command>>(&mut self, name: &str, handler: H) -> &mut Self {
        let route = self.route(erase(handler, |u, ctx| {
            Command::from_message(event::take_message(u)?, ctx.me().username.as_deref())
        }));
        self.commands
            .push((name.trim_start_matches('/').to_owned(), route));
        self
    }

    /// Handles members joining a group.
    pub fn on_join<H: Handler<MemberJoined>>(&mut self, handler: H) -> &mut Self {
        let route = self.route(erase(handler, |u, _| {
            event::member_joined(event::take_message(u)?)
        }));
        self.join.push(route);
        self
    }

    /// Handles members leaving a group.
    pub fn on_leave<H: Handler<MemberLeft>>(&mut self, handler: H) -> &mut Self {
        let route = self.route(erase(handler, |u, _| {
            event::member_left(event::take_message(u)?)
        }));
        self.leave.push(route);
        self
    }

    /// Handles pinned messages.
    pub fn on_pin<H: Handler<MessagePinned>>(&mut self, handler: H) -> &mut Self {
        let route = self.route(erase(handler, |u, _| {
            event::message_pinned(event::take_message(u)?)
        }));
        self.pin.push(route);
        self
    }

    /// Handles updates whose payload is the field `field` (`"edited_message"`,
    /// `"callback_query"`, or any field this version does not know), as the raw [`Update`].
    pub fn on_other<H: Handler<Update>>(&mut self, field: &str, handler: H) -> &mut Self {
        let route = self.route(erase(handler, |u, _| Some(u)));
        self.other.push((field.to_owned(), route));
        self
    }

    /// Handles every `Other` update that no [`Router::on_other`] handler takes. Registering one
    /// makes [`Router::allowed_updates`] return `None` ("everything").
    pub fn on_any_other<H: Handler<Update>>(&mut self, handler: H) -> &mut Self {
        let route = self.route(erase(handler, |u, _| Some(u)));
        self.any_other.push(route);
        self
    }

    /// Handles what no other handler takes, as the raw [`Update`]. Replaces an earlier
    /// fallback. Setting one makes [`Router::allowed_updates`] return `None` ("everything").
    pub fn fallback<H: Handler<Update>>(&mut self, handler: H) -> &mut Self {
        let route = self.route(erase(handler, |u, _| Some(u)));
        self.fallback = Some(route);
        self
    }

    /// Registers a plugin: calls its [`Plugin::register`] with `config` and keeps it, so the
    /// dispatcher calls its lifecycle hooks.
    ///
    /// # Errors
    /// [`Error::Plugin`] when a plugin of that name is already registered, or what the plugin's
    /// `register` returns (a bad config table, typically). Nothing it registered before failing
    /// is removed, so treat the error as fatal at start-up.
    pub fn plugin(
        &mut self,
        plugin: Arc<dyn Plugin>,
        config: &PluginConfig,
    ) -> Result<&mut Self, Error> {
        let name = plugin.name();
        if self.plugins.iter().any(|p| p.name() == name) {
            return Err(Error::Plugin {
                plugin: name.to_owned(),
                reason: "registered twice".to_owned(),
            });
        }
        let previous = std::mem::replace(&mut self.owner, name);
        let result = plugin.register(self, config);
        self.owner = previous;
        result?;
        self.plugins.push(plugin);
        Ok(self)
    }

    /// The registered plugins, in registration order.
    pub fn plugins(&self) -> &[Arc<dyn Plugin>] {
        &self.plugins
    }

    /// The update field names this router handles, in first-registration order, for
    /// `allowed_updates`: `"message"` for messages, commands and group events, the field name
    /// for `Other` kinds. `None` when a fallback or an [`Router::on_any_other`] handler means
    /// the router wants every kind.
    ///
    /// An empty router yields `Some(vec![])`. MPChat (like Telegram) reads an empty
    /// `allowed_updates` as "the default set", so a source should not send an empty list.
    pub fn allowed_updates(&self) -> Option<Vec<String>> {
        if self.fallback.is_some() || !self.any_other.is_empty() {
            return None;
        }
        let mut fields = Vec::new();
        let uses_message = !(self.commands.is_empty()
            && self.message.is_empty()
            && self.join.is_empty()
            && self.leave.is_empty()
            && self.pin.is_empty());
        if uses_message {
            fields.push(UpdateKind::Message.field_name().to_owned());
        }
        for (field, _) in &self.other {
            if !fields.contains(field) {
                fields.push(field.clone());
            }
        }
        Some(fields)
    }

    /// The handler that takes `update` of kind `kind`, and who registered it.
    pub(crate) fn select(
        &self,
        update: &Update,
        kind: &UpdateKind,
        username: Option<&str>,
    ) -> Option<(&'static str, &Arc<dyn ErasedHandler>)> {
        let route = match kind {
            UpdateKind::Message => update
                .message
                .as_ref()
                .and_then(|m| event::command_for(m, username))
                .and_then(|cmd| {
                    self.commands
                        .iter()
                        .find(|(name, _)| name == cmd.name)
                        .map(|(_, r)| r)
                })
                .or_else(|| self.message.first()),
            UpdateKind::Join => self.join.first(),
            UpdateKind::Leave => self.leave.first(),
            UpdateKind::Pin => self.pin.first(),
            UpdateKind::Other(field) => self
                .other
                .iter()
                .find(|(name, _)| name == field)
                .map(|(_, r)| r)
                .or_else(|| self.any_other.first()),
        };
        route
            .or(self.fallback.as_ref())
            .map(|r| (r.owner, &r.handler))
    }
}
