//! Shutdown under load loses nothing MPChat was told was accepted.

use std::collections::HashSet;
use std::time::Duration;

use mpbot_webhook::Register;

use crate::rig::{Running, World, dispatcher_options, guard, user};

/// Pins the shutdown guarantee under load: every update the emulator saw answered 2xx was
/// handled before the answer, and what was not acknowledged is delivered to the next
/// listener, so across both runs every update is handled.
#[tokio::test]
async fn shutdown_under_load_loses_nothing_acknowledged() {
    let world = World::start(Duration::from_secs(10)).await;
    let first = Running::start(
        &world,
        |addr| world.options(addr, Register::Auto),
        dispatcher_options(),
    )
    .await;
    let mut posted = HashSet::new();
    for i in 0..200_i64 {
        let chat = 100 + i % 10;
        posted.insert(
            world
                .bot
                .user_message(chat, user(chat), &format!("m{i}"))
                .update_id,
        );
    }
    // Stop in the middle of the stream.
    let mut n = 1;
    loop {
        let attempts = guard(world.bot.wait_for_deliveries(n)).await;
        if attempts.iter().filter(|a| a.is_success()).count() >= 50 {
            break;
        }
        n = attempts.len() + 1;
    }
    let first_log = first.handled_log.clone();
    first.stop().await.unwrap();

    let handled_first: HashSet<_> = first_log
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.update_id)
        .collect();
    let acknowledged: HashSet<_> = world
        .bot
        .deliveries()
        .iter()
        .filter(|a| a.is_success())
        .map(|a| a.update_id)
        .collect();
    let lost: Vec<_> = acknowledged.difference(&handled_first).collect();
    assert!(lost.is_empty(), "acknowledged but never handled: {lost:?}");

    // The rest reaches the next listener.
    let mut second = Running::start(
        &world,
        |addr| world.options(addr, Register::Auto),
        dispatcher_options(),
    )
    .await;
    let mut handled = handled_first;
    while handled.len() < posted.len() {
        let seen = second.next_seen().await;
        handled.insert(seen.update_id);
    }
    assert_eq!(handled, posted);
    second.stop().await.unwrap();
    world.stop().await;
}
