//! What users do: write, join, leave, pin. Shared by the control API and [`crate::BotHandle`].

use mpbot_api::types::{ChatMemberStatus, Message};
use mpbot_api::{ChatType, MessageId, UpdateId, User};

use crate::handle::Posted;
use crate::state::BotEntry;

fn as_user(mut user: User) -> User {
    user.is_bot.get_or_insert(false);
    user
}

fn message_value(message: &Message) -> serde_json::Value {
    serde_json::to_value(message).unwrap_or_default()
}

/// A user writes `text` in `chat_id`, creating the chat (private unless `chat_type` says
/// otherwise) and its conversation with the bot when new.
pub(crate) fn post_message(
    bot: &BotEntry,
    now: i64,
    chat_id: i64,
    chat_type: Option<ChatType>,
    from: User,
    text: String,
) -> Posted {
    let from = as_user(from);
    bot.with_state(|st| {
        let message_id = st.new_message_id();
        let chat = st.ensure_chat(chat_id, chat_type, Some(&from), ChatType::Private);
        let message = Message {
            message_id: MessageId(message_id),
            chat: chat.chat.clone(),
            from: Some(from),
            date: Some(now),
            text: Some(text),
            ..Message::default()
        };
        let value = message_value(&message);
        chat.messages.insert(message_id, message);
        let update_id = st.enqueue(now, "message", value);
        Posted {
            update_id: UpdateId(update_id),
            message_id: MessageId(message_id),
        }
    })
}

/// `members` join `chat_id` (a group unless `chat_type` says otherwise); the service message's
/// sender is `from`, or the first member.
pub(crate) fn join(
    bot: &BotEntry,
    now: i64,
    chat_id: i64,
    chat_type: Option<ChatType>,
    members: Vec<User>,
    from: Option<User>,
) -> UpdateId {
    let members: Vec<User> = members.into_iter().map(as_user).collect();
    let from = from.map(as_user).or_else(|| members.first().cloned());
    bot.with_state(|st| {
        let message_id = st.new_message_id();
        let chat = st.ensure_chat(chat_id, chat_type, None, ChatType::Group);
        for m in &members {
            chat.add_member(m.clone());
        }
        let message = Message {
            message_id: MessageId(message_id),
            chat: chat.chat.clone(),
            from,
            date: Some(now),
            new_chat_members: Some(members),
            ..Message::default()
        };
        let value = message_value(&message);
        chat.messages.insert(message_id, message);
        UpdateId(st.enqueue(now, "message", value))
    })
}

/// `member` leaves `chat_id`; the sender is `from`, or the member.
pub(crate) fn leave(
    bot: &BotEntry,
    now: i64,
    chat_id: i64,
    member: User,
    from: Option<User>,
) -> UpdateId {
    let member = as_user(member);
    let from = from.map(as_user).unwrap_or_else(|| member.clone());
    bot.with_state(|st| {
        let message_id = st.new_message_id();
        let chat = st.ensure_chat(chat_id, None, None, ChatType::Group);
        if let Some(m) = chat.members.get_mut(&member.id.get()) {
            m.status = ChatMemberStatus::Left;
        }
        let message = Message {
            message_id: MessageId(message_id),
            chat: chat.chat.clone(),
            from: Some(from),
            date: Some(now),
            left_chat_member: Some(member),
            ..Message::default()
        };
        let value = message_value(&message);
        chat.messages.insert(message_id, message);
        UpdateId(st.enqueue(now, "message", value))
    })
}

/// `from` pins `message_id` in `chat_id`; the service message carries the pinned message (as
/// stored, or just its id and chat when the emulator never saw it).
pub(crate) fn pin(bot: &BotEntry, now: i64, chat_id: i64, message_id: i64, from: User) -> UpdateId {
    let from = as_user(from);
    bot.with_state(|st| {
        let service_id = st.new_message_id();
        let chat = st.ensure_chat(chat_id, None, Some(&from), ChatType::Group);
        let pinned = chat
            .messages
            .get(&message_id)
            .cloned()
            .unwrap_or_else(|| Message {
                message_id: MessageId(message_id),
                chat: chat.chat.clone(),
                ..Message::default()
            });
        chat.pinned.retain(|&id| id != message_id);
        chat.pinned.push(message_id);
        let message = Message {
            message_id: MessageId(service_id),
            chat: chat.chat.clone(),
            from: Some(from),
            date: Some(now),
            pinned_message: Some(Box::new(pinned)),
            ..Message::default()
        };
        let value = message_value(&message);
        chat.messages.insert(service_id, message);
        UpdateId(st.enqueue(now, "message", value))
    })
}

/// The chat type named by a control request, `private` when absent.
pub(crate) fn chat_type_from(name: Option<&str>) -> Option<ChatType> {
    name.map(ChatType::from)
}
