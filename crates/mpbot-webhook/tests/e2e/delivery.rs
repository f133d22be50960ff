//! Delivery through HTTPS: once, in per-chat order, redelivered after 503 and dropped
//! connections.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use mpbot_webhook::Register;

use crate::rig::{Running, World, dispatcher_options, guard, user};

/// Pins the main path: every update posted by users reaches the handler exactly once, in
/// per-chat order, over HTTPS with the secret; `register = auto` passed the emulator's probe.
#[tokio::test]
async fn every_update_is_handled_once_in_per_chat_order() {
    let world = World::start(Duration::from_secs(10)).await;
    let mut running = Running::start(
        &world,
        |addr| world.options(addr, Register::Auto),
        dispatcher_options(),
    )
    .await;
    let chats = [11_i64, 22, 33];
    let per_chat = 15;
    for i in 0..per_chat {
        for chat in chats {
            world
                .bot
                .user_message(chat, user(chat), &format!("{chat}-{i}"));
        }
    }
    let mut by_chat: HashMap<i64, Vec<String>> = HashMap::new();
    let mut ids = HashSet::new();
    for _ in 0..chats.len() * per_chat {
        let seen = running.next_seen().await;
        assert!(ids.insert(seen.update_id), "seen twice: {seen:?}");
        by_chat.entry(seen.chat).or_default().push(seen.text);
    }
    for chat in chats {
        let expected: Vec<String> = (0..per_chat).map(|i| format!("{chat}-{i}")).collect();
        assert_eq!(by_chat[&chat], expected, "chat {chat}");
    }
    // Registered by `auto` (so the emulator's probe passed), pointing at this listener.
    let info = world.bot.webhook_info();
    assert_eq!(
        info.url,
        format!("https://127.0.0.1:{}/hook", running.addr.port())
    );
    let report = running.stop().await.unwrap();
    assert!(report.is_drained());
    assert!(world.bot.deliveries().iter().all(|d| d.is_success()));
    world.stop().await;
}

/// Pins redelivery after 503: with the dispatcher full, the listener answers 503, the
/// emulator retries, and every update is still handled exactly once, in per-chat order.
#[tokio::test]
async fn refused_updates_are_redelivered_and_handled_once() {
    let world = World::start(Duration::from_secs(10)).await;
    let options = dispatcher_options()
        .with_max_concurrency(1)
        .with_queue_bound(1);
    let mut running =
        Running::start(&world, |addr| world.options(addr, Register::Auto), options).await;
    // Chat 1's first update holds the only handler slot.
    world.bot.user_message(1, user(1), "hold-1");
    for i in 0..5 {
        world.bot.user_message(2, user(2), &format!("2-{i}"));
        world.bot.user_message(3, user(3), &format!("3-{i}"));
    }
    // Wait until the listener refused something.
    let mut n = 1;
    loop {
        let attempts = guard(world.bot.wait_for_deliveries(n)).await;
        if attempts.iter().any(|a| a.status == Some(503)) {
            break;
        }
        n = attempts.len() + 1;
    }
    running.gate.release(1);
    let mut by_chat: std::collections::HashMap<i64, Vec<String>> = Default::default();
    let mut ids = HashSet::new();
    for _ in 0..11 {
        let seen = running.next_seen().await;
        assert!(ids.insert(seen.update_id), "seen twice: {seen:?}");
        by_chat.entry(seen.chat).or_default().push(seen.text);
    }
    for chat in [2_i64, 3] {
        let expected: Vec<String> = (0..5).map(|i| format!("{chat}-{i}")).collect();
        assert_eq!(by_chat[&chat], expected, "chat {chat}");
    }
    let report = running.stop().await.unwrap();
    assert!(report.is_drained());
    world.stop().await;
}

/// Pins redelivery after a dropped connection: the emulator gives up on a slow answer and
/// delivers again; the redelivery is acknowledged as a duplicate and the handler runs once.
#[tokio::test]
async fn redelivery_after_a_dropped_connection_is_handled_once() {
    let world = World::start(Duration::from_millis(300)).await;
    let mut running = Running::start(
        &world,
        |addr| world.options(addr, Register::Auto),
        dispatcher_options(),
    )
    .await;
    let posted = world.bot.user_message(5, user(5), "hold-5");
    // The first attempt times out on the emulator's side (connection dropped mid-request);
    // the next one is a redelivery of the same update.
    let mut n = 1;
    loop {
        let attempts = guard(world.bot.wait_for_deliveries(n)).await;
        let failed = attempts
            .iter()
            .filter(|a| a.update_id == posted.update_id && a.status.is_none());
        if failed.count() >= 1
            && attempts
                .iter()
                .filter(|a| a.update_id == posted.update_id)
                .count()
                >= 2
        {
            break;
        }
        n = attempts.len() + 1;
    }
    running.gate.release(1);
    let seen = running.next_seen().await;
    assert_eq!(seen.update_id, posted.update_id);
    // Wait until the emulator counts the update as delivered, then check it ran once.
    loop {
        let attempts = guard(world.bot.wait_for_deliveries(n)).await;
        if attempts
            .iter()
            .any(|a| a.update_id == posted.update_id && a.is_success())
        {
            break;
        }
        n = attempts.len() + 1;
    }
    world.bot.user_message(5, user(5), "after");
    assert_eq!(running.next_seen().await.text, "after");
    assert_eq!(running.handled_log.lock().unwrap().len(), 2);
    running.stop().await.unwrap();
    world.stop().await;
}
