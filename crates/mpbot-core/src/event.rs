//! The typed events handlers receive, one per [`UpdateKind`](crate::UpdateKind).
//!
//! A handler for plain messages receives the [`Message`] itself; group events get a struct that
//! names the parts a handler needs ([`MemberJoined`], [`MemberLeft`], [`MessagePinned`]); a
//! command handler gets a [`Command`]; `Other` kinds and the fallback get the raw [`Update`].

use mpbot_api::{Chat, Message, Update, User};

/// Members joined a group, or were added to it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MemberJoined {
    /// The group.
    pub chat: Chat,
    /// Who joined (never empty).
    pub members: Vec<User>,
    /// Who added them: the sender of the service message, unless that is the only member who
    /// joined (someone who joined by themselves was not added by anyone).
    pub by: Option<User>,
    /// The service message carrying the event, as sent.
    pub message: Message,
}

/// A member left a group, or was removed from it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MemberLeft {
    /// The group.
    pub chat: Chat,
    /// Who left.
    pub member: User,
    /// Who removed them: the sender of the service message, unless that is the member itself.
    pub by: Option<User>,
    /// The service message carrying the event, as sent.
    pub message: Message,
}

/// A message was pinned.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessagePinned {
    /// The chat.
    pub chat: Chat,
    /// The message that was pinned.
    pub pinned: Message,
    /// Who pinned it, when MPChat says.
    pub by: Option<User>,
    /// The service message carrying the event, as sent.
    pub message: Message,
}

/// A command addressed to this bot: `/name`, or `/name@this_bot`, followed by arguments.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Command {
    /// The command's name without `/` and without `@bot`.
    pub name: String,
    /// The arguments: the rest of the text split on whitespace.
    pub args: Vec<String>,
    /// The rest of the text after the command, trimmed, as written.
    pub args_text: String,
    /// The message that carries the command.
    pub message: Message,
}

/// A command as written, borrowed from a message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedCommand<'a> {
    /// The name without `/` and `@bot`.
    pub(crate) name: &'a str,
    /// The `bot` of `/name@bot`, if any.
    pub(crate) addressee: Option<&'a str>,
    /// Everything after the command token, trimmed.
    pub(crate) rest: &'a str,
}

/// Reads `/name[@bot] args...` from the start of a text; `None` if the text is no command.
pub(crate) fn parse_command(text: &str) -> Option<ParsedCommand<'_>> {
    let body = text.strip_prefix('/')?;
    let end = body.find(char::is_whitespace).unwrap_or(body.len());
    let (token, rest) = body.split_at(end);
    let (name, addressee) = match token.split_once('@') {
        Some((name, bot)) => (name, Some(bot)),
        None => (token, None),
    };
    if name.is_empty() {
        return None;
    }
    Some(ParsedCommand {
        name,
        addressee,
        rest: rest.trim(),
    })
}

impl ParsedCommand<'_> {
    /// Whether the command is for the bot called `username` (ASCII case-insensitive, as MPChat
    /// usernames are). A command without `@bot` is for every bot in the chat; one with `@bot`
    /// is only for that bot, and never for a bot without a username.
    pub(crate) fn is_for(&self, username: Option<&str>) -> bool {
        match (self.addressee, username) {
            (None, _) => true,
            (Some(to), Some(me)) => to.eq_ignore_ascii_case(me),
            (Some(_), None) => false,
        }
    }
}

/// The command a message carries for the bot `username`, if any.
pub(crate) fn command_for<'a>(
    message: &'a Message,
    username: Option<&str>,
) -> Option<ParsedCommand<'a>> {
    let parsed = parse_command(message.text.as_deref()?)?;
    parsed.is_for(username).then_some(parsed)
}

impl Command {
    /// The command `message` carries for the bot called `username` (`getMe`'s username),
    /// as the router would pass it to a handler; `None` if its text is no command, or a
    /// command addressed to another bot. Useful to test a command handler directly.
    pub fn from_message(message: Message, username: Option<&str>) -> Option<Command> {
        let parsed = command_for(&message, username)?;
        let name = parsed.name.to_owned();
        let args_text = parsed.rest.to_owned();
        let args = args_text.split_whitespace().map(str::to_owned).collect();
        Some(Command {
            name,
            args,
            args_text,
            message,
        })
    }
}

/// Builds the event of a `Join` message; `None` if it is none.
pub(crate) fn member_joined(message: Message) -> Option<MemberJoined> {
    MemberJoined::from_message(message)
}

impl MemberJoined {
    /// The event a service message carries, as the router would pass it to a handler;
    /// `None` if the message is not a `Join` event. Useful to test a handler directly.
    pub fn from_message(message: Message) -> Option<MemberJoined> {
        let members = message.new_chat_members.clone().filter(|m| !m.is_empty())?;
        let by = message
            .from
            .clone()
            .filter(|from| !(members.len() == 1 && members[0].id == from.id));
        Some(MemberJoined {
            chat: message.chat.clone(),
            members,
            by,
            message,
        })
    }
}

/// Builds the event of a `Leave` message; `None` if it is none.
pub(crate) fn member_left(message: Message) -> Option<MemberLeft> {
    MemberLeft::from_message(message)
}

impl MemberLeft {
    /// The event a service message carries, as the router would pass it to a handler;
    /// `None` if the message is not a `Leave` event. Useful to test a handler directly.
    pub fn from_message(message: Message) -> Option<MemberLeft> {
        let member = message.left_chat_member.clone()?;
        let by = message.from.clone().filter(|from| from.id != member.id);
        Some(MemberLeft {
            chat: message.chat.clone(),
            member,
            by,
            message,
        })
    }
}

/// Builds the event of a `Pin` message; `None` if it is none.
pub(crate) fn message_pinned(message: Message) -> Option<MessagePinned> {
    MessagePinned::from_message(message)
}

impl MessagePinned {
    /// The event a service message carries, as the router would pass it to a handler;
    /// `None` if the message is not a `Pin` event. Useful to test a handler directly.
    pub fn from_message(message: Message) -> Option<MessagePinned> {
        let pinned = (**message.pinned_message.as_ref()?).clone();
        Some(MessagePinned {
            chat: message.chat.clone(),
            pinned,
            by: message.from.clone(),
            message,
        })
    }
}

/// The `message` of an update, moved out.
pub(crate) fn take_message(update: Update) -> Option<Message> {
    update.message.map(|message| *message)
}

#[cfg(test)]
mod tests {
    use mpbot_api::{ChatType, UserId};

    use super::*;

    /// Pins command parsing: name, addressee and the rest, for the shapes users type.
    #[test]
    fn parses_commands() {
        let cases = [
            ("/start", Some(("start", None, ""))),
            ("/start@my_bot", Some(("start", Some("my_bot"), ""))),
            ("/help  me   now ", Some(("help", None, "me   now"))),
            ("/echo@b a\nb", Some(("echo", Some("b"), "a\nb"))),
            ("start", None),
            ("/", None),
            ("/@bot", None),
            (" /start", None),
        ];
        for (text, want) in cases {
            let got = parse_command(text).map(|p| (p.name, p.addressee, p.rest));
            assert_eq!(got, want, "{text:?}");
        }
    }

    /// Pins who a command is for: everyone without `@`, only the named bot with it.
    #[test]
    fn commands_are_for_the_named_bot_only() {
        let cases = [
            ("/start", Some("this_bot"), true),
            ("/start@this_bot", Some("this_bot"), true),
            ("/start@This_Bot", Some("this_bot"), true),
            ("/start@other_bot", Some("this_bot"), false),
            ("/start@other_bot", None, false),
            ("/start", None, true),
        ];
        for (text, me, want) in cases {
            assert_eq!(
                parse_command(text).unwrap().is_for(me),
                want,
                "{text} for {me:?}"
            );
        }
    }

    /// Pins that arguments split on whitespace and the raw rest is kept.
    #[test]
    fn command_event_splits_arguments() {
        let message = Message {
            text: Some("/roll@dice_bot 2d6  +3".into()),
            ..Message::default()
        };
        let command = Command::from_message(message, Some("dice_bot")).unwrap();
        assert_eq!(command.name, "roll");
        assert_eq!(command.args, ["2d6", "+3"]);
        assert_eq!(command.args_text, "2d6  +3");
        let other = Message {
            text: Some("/roll@other_bot".into()),
            ..Message::default()
        };
        assert!(Command::from_message(other, Some("dice_bot")).is_none());
    }

    /// Pins `by` of join and leave: the sender, unless the member acted alone on themselves.
    #[test]
    fn join_and_leave_name_who_acted() {
        let chat = Chat::new(-5, ChatType::Group);
        let alice = User::new(1);
        let bob = User::new(2);
        let added = Message {
            chat: chat.clone(),
            from: Some(alice.clone()),
            new_chat_members: Some(vec![bob.clone()]),
            ..Message::default()
        };
        assert_eq!(
            member_joined(added).unwrap().by.map(|u| u.id),
            Some(UserId(1))
        );
        let joined_alone = Message {
            chat: chat.clone(),
            from: Some(bob.clone()),
            new_chat_members: Some(vec![bob.clone()]),
            ..Message::default()
        };
        assert_eq!(member_joined(joined_alone).unwrap().by, None);
        let removed = Message {
            chat: chat.clone(),
            from: Some(alice.clone()),
            left_chat_member: Some(bob.clone()),
            ..Message::default()
        };
        let left = member_left(removed).unwrap();
        assert_eq!(
            (left.member.id, left.by.map(|u| u.id)),
            (UserId(2), Some(UserId(1)))
        );
        let left_alone = Message {
            chat,
            from: Some(bob.clone()),
            left_chat_member: Some(bob),
            ..Message::default()
        };
        assert_eq!(member_left(left_alone).unwrap().by, None);
    }
}
