//! `mpbot webhook info|set|delete`: guards, dry runs, the probe, and the read-back.

use mpbot_cli::Exit;

use super::support::{Receiver, USERNAME, World, closed_port};

/// A wrong --confirm is refused before anything is probed or changed.
#[tokio::test]
async fn set_refuses_a_wrong_username_and_changes_nothing() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 200).await;
    let config = world.webhook(&receiver.url(), "", "");
    let config = config.to_str().unwrap();
    for wrong in [
        "other_bot",
        "CLI_TEST_BOT",
        "cli_test_bo",
        "@@cli_test_bot",
        "",
    ] {
        let run = world
            .mpbot(&["webhook", "set", "--config", config, "--confirm", wrong])
            .await;
        assert_eq!(run.exit, Exit::Refused, "{wrong}: {}", run.all());
        assert!(run.err.contains("is not this bot"), "{}", run.err);
        assert!(run.err.contains(&format!("@{USERNAME}")), "{}", run.err);
    }
    assert!(!world.bot().webhook_info().is_set());
    assert_eq!(receiver.hits(), 0, "nothing was probed");
}

/// --dry-run prints the plan and probes, but setWebhook is never called.
#[tokio::test]
async fn set_dry_run_prints_the_plan_and_changes_nothing() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 200).await;
    let config = world.webhook(&receiver.url(), "", "max_connections = 7");
    let run = world
        .webhook_set_trusting_the_test_ca(&config, USERNAME, &["--dry-run"])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(run.out.contains("plan: setWebhook"), "{}", run.out);
    assert!(
        run.out
            .contains(&format!("url: (none) -> {}", receiver.url())),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("max_connections: (not set) -> 7"),
        "{}",
        run.out
    );
    assert!(run.out.contains("probe: HTTP 200: ok"), "{}", run.out);
    assert!(
        run.out.contains("dry run: nothing was changed"),
        "{}",
        run.out
    );
    assert!(!world.bot().webhook_info().is_set());
    assert_eq!(receiver.hits(), 1, "exactly the CLI's probe");
}

/// set refuses, without calling setWebhook, when nothing listens at public_url.
#[tokio::test]
async fn set_refuses_when_nothing_listens() {
    let world = World::start().await;
    let url = format!("https://localhost:{}/hook", closed_port().await);
    let config = world.webhook(&url, "", "");
    let run = world
        .webhook_set_trusting_the_test_ca(&config, USERNAME, &[])
        .await;
    assert_eq!(run.exit, Exit::Refused, "{}", run.all());
    assert!(run.err.contains("the probe failed"), "{}", run.err);
    assert!(run.err.contains("could not be reached"), "{}", run.err);
    assert!(!world.bot().webhook_info().is_set());
}

/// set refuses when the endpoint answers the empty POST with a non-2xx status, and names it.
#[tokio::test]
async fn set_refuses_when_the_endpoint_answers_non_2xx() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 404).await;
    let config = world.webhook(&receiver.url(), "", "");
    let run = world
        .webhook_set_trusting_the_test_ca(&config, USERNAME, &[])
        .await;
    assert_eq!(run.exit, Exit::Refused, "{}", run.all());
    assert!(run.err.contains("answered HTTP 404"), "{}", run.err);
    assert!(!world.bot().webhook_info().is_set());
}

/// Without --ca-cert the probe trusts only the system roots, so a test CA's endpoint fails.
#[tokio::test]
async fn set_probe_does_not_trust_a_test_ca_unless_told() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 200).await;
    let config = world.webhook(&receiver.url(), "", "");
    let run = world.webhook_set(&config, USERNAME, &[]).await;
    assert_eq!(run.exit, Exit::Refused, "{}", run.all());
    assert!(run.err.contains("the probe failed"), "{}", run.err);
    assert!(!world.bot().webhook_info().is_set());
}

/// With the right username (a leading @ allowed) and a listening endpoint, set registers the
/// webhook with the config's settings and shows getWebhookInfo afterwards.
#[tokio::test]
async fn set_registers_a_listening_endpoint_and_reads_it_back() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 200).await;
    let config = world.webhook(&receiver.url(), "", "max_connections = 5");
    let confirm = format!("@{USERNAME}");
    let run = world
        .webhook_set_trusting_the_test_ca(&config, &confirm, &[])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(run.out.contains("setWebhook: done"), "{}", run.out);
    let after = run
        .out
        .split("now (getWebhookInfo):")
        .nth(1)
        .expect("read-back");
    assert!(
        after.contains(&format!("url: {}", receiver.url())),
        "{after}"
    );
    assert!(after.contains("max_connections: 5"), "{after}");
    let info = world.bot().webhook_info();
    assert_eq!(info.url, receiver.url());
    assert_eq!(info.max_connections, Some(5));
    assert_eq!(info.allowed_updates, Some(vec!["message".to_owned()]));
    // The CLI's probe, then the emulator's own probe before it saved the webhook.
    assert_eq!(receiver.hits(), 2);
    // The high-risk call was logged (and, as every run asserts, without a secret).
    assert!(
        run.logs
            .contains("calling a high-risk controlled operation"),
        "{}",
        run.logs
    );
}

/// set refuses a polling config: registering a webhook would stop the polling bot.
#[tokio::test]
async fn set_refuses_a_polling_config() {
    let world = World::start().await;
    let config = world.polling("");
    let run = world.webhook_set(&config, USERNAME, &[]).await;
    assert_eq!(run.exit, Exit::Refused, "{}", run.all());
    assert!(
        run.err.contains("delivery.mode = \"polling\""),
        "{}",
        run.err
    );
    assert!(!world.bot().webhook_info().is_set());
}

/// A right --confirm is still refused when the token is not bot.expect_username's.
#[tokio::test]
async fn set_refuses_when_expect_username_differs() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 200).await;
    let config = world.webhook(&receiver.url(), "expect_username = \"prod_bot\"", "");
    let run = world.webhook_set(&config, USERNAME, &[]).await;
    assert_eq!(run.exit, Exit::Refused, "{}", run.all());
    assert!(run.err.contains("expect_username"), "{}", run.err);
    assert!(!world.bot().webhook_info().is_set());
    assert_eq!(receiver.hits(), 0);
}

/// delete refuses a wrong username, changes nothing on --dry-run, and deletes (keeping the
/// pending updates) with the right one, showing getWebhookInfo afterwards.
#[tokio::test]
async fn delete_is_guarded_dry_runnable_and_works() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 200).await;
    world.register_webhook(&receiver.url()).await;
    let config = world.polling("");
    let config = config.to_str().unwrap();

    let wrong = world
        .mpbot(&[
            "webhook",
            "delete",
            "-c",
            config,
            "--confirm",
            "someone_else",
        ])
        .await;
    assert_eq!(wrong.exit, Exit::Refused, "{}", wrong.all());
    assert_eq!(world.bot().webhook_info().url, receiver.url());

    let dry = world
        .mpbot(&[
            "webhook",
            "delete",
            "-c",
            config,
            "--confirm",
            USERNAME,
            "--dry-run",
        ])
        .await;
    assert_eq!(dry.exit, Exit::Success, "{}", dry.all());
    assert!(
        dry.out
            .contains(&format!("url: {} -> (none)", receiver.url())),
        "{}",
        dry.out
    );
    assert!(
        dry.out
            .contains("pending updates: 0 (kept: getUpdates will return them)"),
        "{}",
        dry.out
    );
    assert!(
        dry.out.contains("dry run: nothing was changed"),
        "{}",
        dry.out
    );
    assert_eq!(world.bot().webhook_info().url, receiver.url());

    let done = world
        .mpbot(&["webhook", "delete", "-c", config, "--confirm", USERNAME])
        .await;
    assert_eq!(done.exit, Exit::Success, "{}", done.all());
    assert!(done.out.contains("deleteWebhook: done"), "{}", done.out);
    let after = done
        .out
        .split("now (getWebhookInfo):")
        .nth(1)
        .expect("read-back");
    assert!(after.contains("url: (none)"), "{after}");
    assert!(!world.bot().webhook_info().is_set());

    let again = world
        .mpbot(&["webhook", "delete", "-c", config, "--confirm", USERNAME])
        .await;
    assert_eq!(again.exit, Exit::Success, "{}", again.all());
    assert!(again.out.contains("nothing to delete"), "{}", again.out);
}

/// --drop-pending-updates drops what MPChat holds.
#[tokio::test]
async fn delete_can_drop_pending_updates() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 200).await;
    // The emulator's probe needs a 2xx: register first, then make deliveries fail so the
    // update stays pending.
    world.register_webhook(&receiver.url()).await;
    receiver
        .status
        .store(500, std::sync::atomic::Ordering::SeqCst);
    world
        .bot()
        .user_message(7, mpbot_api::User::new(7), "hello");
    assert_eq!(world.bot().pending_count(), 1);
    let config = world.polling("");
    let run = world
        .mpbot(&[
            "webhook",
            "delete",
            "-c",
            config.to_str().unwrap(),
            "--confirm",
            USERNAME,
            "--drop-pending-updates",
        ])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(
        run.out
            .contains("pending updates: 1 (dropped: --drop-pending-updates)"),
        "{}",
        run.out
    );
    assert!(!world.bot().webhook_info().is_set());
    assert_eq!(world.bot().pending_count(), 0);
}

/// info --json prints getWebhookInfo's result as one valid JSON object.
#[tokio::test]
async fn info_json_is_valid_json() {
    let world = World::start().await;
    let receiver = Receiver::start(&world.ca, 200).await;
    world.register_webhook(&receiver.url()).await;
    let config = world.polling("");
    let run = world
        .mpbot(&["webhook", "info", "-c", config.to_str().unwrap(), "--json"])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    let value: serde_json::Value = serde_json::from_str(&run.out).expect("valid JSON");
    assert_eq!(value["url"], receiver.url());
    assert!(value["pending_update_count"].is_u64(), "{value}");
}

/// info (text) names the bot and says when no webhook is set.
#[tokio::test]
async fn info_text_names_the_bot_and_the_state() {
    let world = World::start().await;
    let config = world.polling("");
    let run = world
        .mpbot(&["webhook", "info", "-c", config.to_str().unwrap()])
        .await;
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(
        run.out.contains(&format!("bot: @{USERNAME} (id 4242)")),
        "{}",
        run.out
    );
    assert!(
        run.out.contains("url: (none): no webhook is set"),
        "{}",
        run.out
    );
}
