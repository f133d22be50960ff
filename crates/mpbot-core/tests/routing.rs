//! The router and plugins, driven through the dispatcher and the in-memory source: which
//! handler gets what, commands, allowed_updates, plugin config and lifecycle hooks, spans.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpbot_core::api::{Bot, BotToken, Chat, ChatType, Message, Update, UpdateId, User};
use mpbot_core::event::{Command, MemberJoined, MemberLeft, MessagePinned};
use mpbot_core::{
    Context, Delivered, Dispatcher, DispatcherOptions, Error, HandlerError, MemorySource, Outcome,
    Plugin, PluginConfig, Router, Shutdown, ShutdownReport, SourceInfo, UpdateKind,
};
use tokio::time::timeout;

const GUARD: Duration = Duration::from_secs(10);

fn bot() -> Bot {
    Bot::builder(BotToken::new("1:test").unwrap())
        .api_url("http://127.0.0.1:9/bot")
        .build()
        .unwrap()
}

fn me() -> User {
    User {
        username: Some("this_bot".into()),
        is_bot: Some(true),
        ..User::new(1)
    }
}

fn message(id: i64, chat: i64) -> Message {
    Message {
        message_id: id.into(),
        chat: Chat::new(chat, ChatType::Group),
        from: Some(User::new(100)),
        ..Message::default()
    }
}

fn text_update(id: i64, text: &str) -> Update {
    Update::with_message(
        id,
        Message {
            text: Some(text.to_owned()),
            ..message(id, 5)
        },
    )
}

/// Delivers `updates` one by one to a dispatcher over `router` (webhook-like, so each verdict
/// comes after its handler ran) and returns the report.
async fn deliver_all(router: Router, updates: Vec<Update>) -> ShutdownReport {
    let dispatcher = Dispatcher::new(bot(), me(), router, DispatcherOptions::new());
    let (source, handle) = MemorySource::new(true);
    let (stop, shutdown) = Shutdown::new();
    let task = tokio::spawn(dispatcher.run(Box::new(source), shutdown));
    for update in updates {
        let verdict = timeout(GUARD, handle.push(update)).await.unwrap();
        assert_eq!(verdict, Ok(Delivered::Accepted));
    }
    stop.trigger();
    timeout(GUARD, task).await.unwrap().unwrap().unwrap()
}

/// Records which handler saw which update, as `"handler:detail"` strings.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// Commands go to their handler when unaddressed or addressed to this bot, never when
/// addressed to another bot; those and unknown commands go to the message handler; arguments
/// are split on whitespace.
#[tokio::test]
async fn commands_route_by_name_and_addressee() {
    let log = Log::default();
    let mut router = Router::new();
    {
        let log = log.clone();
        router.command("start", move |_ctx: Context, cmd: Command| {
            let log = log.clone();
            async move {
                log.push(format!("start:{}", cmd.args.join(",")));
                Ok::<_, HandlerError>(())
            }
        });
    }
    {
        let log = log.clone();
        router.on_message(move |_ctx: Context, message: Message| {
            let log = log.clone();
            async move {
                log.push(format!("message:{}", message.text.unwrap_or_default()));
                Ok::<_, HandlerError>(())
            }
        });
    }
    let updates = vec![
        text_update(1, "/start"),
        text_update(2, "/start@this_bot a  b"),
        text_update(3, "/start@other_bot"),
        text_update(4, "/help"),
        text_update(5, "hello /start"),
        text_update(6, "/start@THIS_BOT x"),
    ];
    deliver_all(router, updates).await;
    assert_eq!(
        log.take(),
        [
            "start:",
            "start:a,b",
            "message:/start@other_bot",
            "message:/help",
            "message:hello /start",
            "start:x",
        ]
    );
}

/// A command addressed to another bot reaches no handler at all when there is no plain
/// message handler: it is counted as unhandled.
#[tokio::test]
async fn command_for_another_bot_is_not_routed_here() {
    let log = Log::default();
    let mut router = Router::new();
    {
        let log = log.clone();
        router.command("start", move |_ctx: Context, _cmd: Command| {
            let log = log.clone();
            async move {
                log.push("start".into());
                Ok::<_, HandlerError>(())
            }
        });
    }
    let report = deliver_all(router, vec![text_update(1, "/start@other_bot")]).await;
    assert!(log.take().is_empty());
    assert_eq!((report.stats.handled, report.stats.unhandled), (0, 1));
}

/// Group events reach their typed handlers with the right parts; other kinds reach their
/// field's handler; what no handler takes reaches the fallback.
#[tokio::test]
async fn typed_events_and_fallback() {
    let log = Log::default();
    let mut router = Router::new();
    let l = log.clone();
    router.on_join(move |_ctx: Context, e: MemberJoined| {
        let l = l.clone();
        async move {
            let ids: Vec<_> = e.members.iter().map(|m| m.id.get()).collect();
            l.push(format!(
                "join:{}:{ids:?}:{:?}",
                e.chat.id,
                e.by.map(|u| u.id.get())
            ));
            Ok::<_, HandlerError>(())
        }
    });
    let l = log.clone();
    router.on_leave(move |_ctx: Context, e: MemberLeft| {
        let l = l.clone();
        async move {
            l.push(format!("leave:{}:{}", e.chat.id, e.member.id));
            Ok::<_, HandlerError>(())
        }
    });
    let l = log.clone();
    router.on_pin(move |_ctx: Context, e: MessagePinned| {
        let l = l.clone();
        async move {
            l.push(format!("pin:{}:{}", e.chat.id, e.pinned.message_id));
            Ok::<_, HandlerError>(())
        }
    });
    let l = log.clone();
    router.on_other("edited_message", move |ctx: Context, u: Update| {
        let l = l.clone();
        async move {
            l.push(format!("edited:{}:{}", u.update_id, ctx.kind()));
            Ok::<_, HandlerError>(())
        }
    });
    let l = log.clone();
    router.fallback(move |ctx: Context, u: Update| {
        let l = l.clone();
        async move {
            l.push(format!("fallback:{}:{}", u.update_id, ctx.kind()));
            Ok::<_, HandlerError>(())
        }
    });
    let join = Update::with_message(
        1,
        Message {
            new_chat_members: Some(vec![User::new(7), User::new(8)]),
            ..message(1, 5)
        },
    );
    let leave = Update::with_message(
        2,
        Message {
            left_chat_member: Some(User::new(7)),
            ..message(2, 5)
        },
    );
    let pin = Update::with_message(
        3,
        Message {
            pinned_message: Some(Box::new(message(40, 5))),
            ..message(3, 5)
        },
    );
    let edited = Update {
        update_id: UpdateId(4),
        edited_message: Some(Box::new(message(4, 5))),
        ..Update::default()
    };
    let poll: Update =
        serde_json::from_value(serde_json::json!({"update_id": 5, "poll": {"id": "p"}})).unwrap();
    let plain = text_update(6, "hi");
    deliver_all(router, vec![join, leave, pin, edited, poll, plain]).await;
    assert_eq!(
        log.take(),
        [
            "join:5:[7, 8]:Some(100)",
            "leave:5:7",
            "pin:5:40",
            "edited:4:edited_message",
            "fallback:5:poll",
            "fallback:6:message",
        ]
    );
}

/// The first handler registered for a kind takes the update; later ones for the same kind do
/// not run.
#[tokio::test]
async fn first_registered_handler_takes_the_update() {
    let log = Log::default();
    let mut router = Router::new();
    for name in ["first", "second"] {
        let log = log.clone();
        router.on_message(move |_ctx: Context, _m: Message| {
            let log = log.clone();
            async move {
                log.push(name.into());
                Ok::<_, HandlerError>(())
            }
        });
    }
    deliver_all(router, vec![text_update(1, "x")]).await;
    assert_eq!(log.take(), ["first"]);
}

/// Pins allowed_updates derivation: the fields handled, in first-registration order, and
/// "everything" (None) once a fallback or catch-all Other handler exists.
#[test]
fn allowed_updates_derivation() {
    async fn noop_message(_ctx: Context, _m: Message) -> Result<(), HandlerError> {
        Ok(())
    }
    async fn noop_update(_ctx: Context, _u: Update) -> Result<(), HandlerError> {
        Ok(())
    }
    async fn noop_join(_ctx: Context, _e: MemberJoined) -> Result<(), HandlerError> {
        Ok(())
    }
    async fn noop_command(_ctx: Context, _c: Command) -> Result<(), HandlerError> {
        Ok(())
    }
    let strings = |v: &[&str]| Some(v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());

    let empty = Router::new();
    assert_eq!(empty.allowed_updates(), strings(&[]));

    let mut messages = Router::new();
    messages.on_message(noop_message);
    assert_eq!(messages.allowed_updates(), strings(&["message"]));

    let mut mixed = Router::new();
    mixed
        .on_other("callback_query", noop_update)
        .on_join(noop_join)
        .command("start", noop_command)
        .on_other("edited_message", noop_update)
        .on_other("callback_query", noop_update);
    assert_eq!(
        mixed.allowed_updates(),
        strings(&["message", "callback_query", "edited_message"])
    );

    let mut with_fallback = Router::new();
    with_fallback.on_message(noop_message).fallback(noop_update);
    assert_eq!(with_fallback.allowed_updates(), None);

    let mut with_any_other = Router::new();
    with_any_other.on_any_other(noop_update);
    assert_eq!(with_any_other.allowed_updates(), None);
}

/// A plugin that records every hook call and registers a message handler.
struct Recorder {
    log: Log,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RecorderConfig {
    prefix: String,
}

impl Plugin for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn register(&self, router: &mut Router, config: &PluginConfig) -> Result<(), Error> {
        let config: RecorderConfig = config.deserialize()?;
        let prefix = Arc::new(config.prefix);
        router.on_message(move |_ctx: Context, m: Message| {
            let prefix = prefix.clone();
            async move {
                if m.text.as_deref() == Some("fail") {
                    return Err(HandlerError::from("no"));
                }
                let _ = prefix;
                Ok(())
            }
        });
        Ok(())
    }

    fn on_ready(
        &self,
        _bot: &Bot,
        me: &User,
    ) -> mpbot_core::BoxFuture<'static, Result<(), HandlerError>> {
        self.log
            .push(format!("ready:{}", me.username.as_deref().unwrap_or("?")));
        // A failing on_ready is logged, not fatal: the updates that follow must still flow.
        Box::pin(async { Err(HandlerError::from("menu not published")) })
    }

    fn on_start(&self, source: &SourceInfo) {
        self.log.push(format!("start:{}", source.name));
    }

    fn on_update_received(&self, update: &Update, kind: &UpdateKind) {
        self.log
            .push(format!("received:{}:{kind}", update.update_id));
    }

    fn on_update_done(&self, update_id: UpdateId, kind: &UpdateKind, outcome: &Outcome) {
        let outcome = match outcome {
            Outcome::Handled => "handled",
            Outcome::Failed(_) => "failed",
            _ => "other",
        };
        self.log.push(format!("done:{update_id}:{kind}:{outcome}"));
    }

    fn on_stop(&self, report: &ShutdownReport) {
        self.log.push(format!("stop:{}", report.stats.handled));
    }
}

/// Lifecycle hooks run at start (on_ready with the bot's identity first; its error does not stop
/// the bot), per accepted update (received, then done with its outcome; not for duplicates) and
/// at stop.
#[tokio::test]
async fn plugin_lifecycle_hooks_are_called() {
    let log = Log::default();
    let mut router = Router::new();
    router
        .plugin(
            Arc::new(Recorder { log: log.clone() }),
            &PluginConfig::new("recorder", serde_json::json!({ "prefix": "> " })),
        )
        .unwrap();
    let dispatcher = Dispatcher::new(bot(), me(), router, DispatcherOptions::new());
    let (source, handle) = MemorySource::new(true);
    let (stop, shutdown) = Shutdown::new();
    let task = tokio::spawn(dispatcher.run(Box::new(source), shutdown));
    assert_eq!(
        handle.push(text_update(1, "ok")).await,
        Ok(Delivered::Accepted)
    );
    assert_eq!(
        handle.push(text_update(1, "ok")).await,
        Ok(Delivered::Duplicate)
    );
    assert_eq!(
        handle.push(text_update(2, "fail")).await,
        Ok(Delivered::Accepted)
    );
    stop.trigger();
    timeout(GUARD, task).await.unwrap().unwrap().unwrap();
    assert_eq!(
        log.take(),
        [
            format!("ready:{}", me().username.unwrap()).as_str(),
            "start:memory",
            "received:1:message",
            "done:1:message:handled",
            "received:2:message",
            "done:2:message:failed",
            "stop:1",
        ]
    );
}

/// A plugin with a bad config table fails registration with an error naming the plugin and
/// the key; registering the same plugin twice is an error too.
#[test]
fn plugin_config_errors_name_plugin_and_key() {
    let mut router = Router::new();
    let bad = PluginConfig::new("recorder", serde_json::json!({ "prefix": 3 }));
    let plugin = Arc::new(Recorder {
        log: Log::default(),
    });
    match router.plugin(plugin.clone(), &bad) {
        Err(Error::Plugin { plugin, reason }) => {
            assert_eq!(plugin, "recorder");
            assert!(reason.contains("`prefix`"), "{reason}");
        }
        other => panic!("expected a plugin error, got {other:?}"),
    }
    let typo = PluginConfig::new("recorder", serde_json::json!({ "prefx": "a" }));
    let reason = router
        .plugin(plugin.clone(), &typo)
        .unwrap_err()
        .to_string();
    assert!(reason.contains("prefx"), "{reason}");
    let good = PluginConfig::new("recorder", serde_json::json!({ "prefix": "a" }));
    router.plugin(plugin.clone(), &good).unwrap();
    assert!(matches!(
        router.plugin(plugin, &good),
        Err(Error::Plugin { .. })
    ));
    assert_eq!(router.plugins().len(), 1);
}

/// A plugin whose hook panics does not stop updates from being handled.
#[tokio::test]
async fn a_panicking_plugin_hook_is_contained() {
    struct Panicky;

    impl Plugin for Panicky {
        fn name(&self) -> &'static str {
            "panicky"
        }

        fn register(&self, router: &mut Router, _config: &PluginConfig) -> Result<(), Error> {
            router.on_message(|_ctx: Context, _m: Message| async { Ok::<_, HandlerError>(()) });
            Ok(())
        }

        fn on_update_received(&self, _update: &Update, _kind: &UpdateKind) {
            panic!("hook bug");
        }
    }

    let mut router = Router::new();
    router
        .plugin(Arc::new(Panicky), &PluginConfig::empty("panicky"))
        .unwrap();
    let report = deliver_all(router, vec![text_update(1, "a"), text_update(2, "b")]).await;
    assert_eq!(report.stats.handled, 2);
}

/// `Context::reply` sends `sendMessage` to the update's chat, replying to its message.
#[tokio::test]
async fn reply_sends_to_the_chat_replying_to_the_message() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // A one-request Bot API: reads one request, answers with a message, hands back the
    // request line and body.
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head_end, length) = loop {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed early");
            buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                break (end + 4, length);
            }
        };
        while buffer.len() < head_end + length {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed early");
            buffer.extend_from_slice(&chunk[..n]);
        }
        let request_line = String::from_utf8_lossy(&buffer[..head_end])
            .lines()
            .next()
            .unwrap()
            .to_owned();
        let body: serde_json::Value =
            serde_json::from_slice(&buffer[head_end..head_end + length]).unwrap();
        let answer = r#"{"ok":true,"result":{"message_id":99,"chat":{"id":5,"type":"group"}}}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        );
        stream.write_all(response.as_bytes()).await.unwrap();
        (request_line, body)
    });

    let bot = Bot::builder(BotToken::new("1:test").unwrap())
        .api_url(format!("http://{addr}/bot"))
        .build()
        .unwrap();
    let (sent_tx, mut sent) = tokio::sync::mpsc::unbounded_channel();
    let mut router = Router::new();
    router.on_message(move |ctx: Context, _m: Message| {
        let sent_tx = sent_tx.clone();
        async move {
            let reply = ctx.reply("pong").await?;
            sent_tx.send(reply.message_id).map_err(|e| e.to_string())?;
            Ok::<_, HandlerError>(())
        }
    });
    let dispatcher = Dispatcher::new(bot, me(), router, DispatcherOptions::new());
    let sink = dispatcher.sink(&SourceInfo::new("test", true));
    assert_eq!(
        timeout(GUARD, sink.deliver(text_update(12, "ping")))
            .await
            .unwrap(),
        Ok(Delivered::Accepted)
    );
    let (request_line, body) = timeout(GUARD, server).await.unwrap().unwrap();
    assert_eq!(request_line, "POST /bot/bot1:test/sendMessage HTTP/1.1");
    assert_eq!(
        body,
        serde_json::json!({"chat_id": 5, "text": "pong", "reply_to_message_id": 12})
    );
    assert_eq!(sent.recv().await.map(|id| id.get()), Some(99));
    assert_eq!(dispatcher.stats().handled, 1);
}
