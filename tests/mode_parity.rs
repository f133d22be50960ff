//! The one-line switch: the same application and script under polling and under webhook.

use mpbot_examples::demo;

/// The demo bot run through the same script in both modes (differing only in `delivery.mode`)
/// makes the same handler calls and sends the same messages, as the emulator observed them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_and_webhook_produce_the_same_conversation() {
    let polling = demo::run("polling")
        .await
        .expect("the polling run completes");
    let webhook = demo::run("webhook")
        .await
        .expect("the webhook run completes");

    // The script waits for one answer per step, so both runs must have the full conversation.
    assert_eq!(polling.sent.len(), 9, "{:#?}", polling.sent);
    assert_eq!(
        polling.handler_calls.len(),
        9,
        "{:#?}",
        polling.handler_calls
    );
    assert!(
        polling.handler_calls.iter().all(|c| c.ends_with("handled")),
        "{:#?}",
        polling.handler_calls
    );

    assert_eq!(polling.sent, webhook.sent);
    assert_eq!(polling.handler_calls, webhook.handler_calls);
    assert_eq!(polling.transcript, webhook.transcript);
}

/// The two configs the demo uses differ in exactly one line: the mode.
#[test]
fn the_demo_configs_differ_in_the_mode_line_only() {
    let dir = std::path::Path::new("/tmp");
    let polling = demo::config_text("polling", "handled", "http://127.0.0.1:1/bot", 8443, dir);
    let webhook = demo::config_text("webhook", "handled", "http://127.0.0.1:1/bot", 8443, dir);
    let differing: Vec<_> = polling
        .lines()
        .zip(webhook.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(differing, [("mode = \"polling\"", "mode = \"webhook\"")]);
    assert_eq!(polling.lines().count(), webhook.lines().count());
}

/// Under `ack = "stored"` (the journal between the source and the dispatcher) both modes still
/// produce the same conversation, every update goes through the journal, and none is left
/// unhandled after a clean stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_ack_runs_both_modes_through_the_journal() {
    let handled = demo::run("polling")
        .await
        .expect("the handled run completes");
    let polling = demo::run_with_ack("polling", "stored")
        .await
        .expect("the polling run completes");
    let webhook = demo::run_with_ack("webhook", "stored")
        .await
        .expect("the webhook run completes");
    assert_eq!(polling.sent, handled.sent);
    assert_eq!(webhook.sent, handled.sent);
    assert_eq!(polling.handler_calls, webhook.handler_calls);
    assert_eq!(polling.journal, Some((9, 0)));
    assert_eq!(webhook.journal, Some((9, 0)));
}
