//! `mpbot run` answers a conversation; `smoke` passes against a running mpbot bot (polling via
//! `mpbot run`, webhook via the facade on a pre-bound listener) and `webhook set` succeeds
//! against a listening mpbot webhook.

use mpbot::App;
use mpbot::config::Config;
use mpbot_api::User;
use mpbot_cli::{Exit, Shutdown};

use super::support::{USERNAME, World, env, guard, run_cli};

/// `mpbot run` with `[plugins.echo]` answers a user's messages, in order, and stops cleanly
/// when asked.
#[tokio::test]
async fn run_answers_a_conversation() {
    let world = World::start().await;
    let config = world.polling("\n[plugins.echo]\n");
    let (stop, shutdown) = Shutdown::new();
    let bot = world.bot();
    let driver = async {
        bot.user_message(42, User::new(42), "hello");
        let first = guard(bot.wait_for_sent(1)).await;
        assert_eq!(first[0].text.as_deref(), Some("hello"));
        bot.user_message(42, User::new(42), "and again");
        let both = guard(bot.wait_for_sent(2)).await;
        assert_eq!(both[1].text.as_deref(), Some("and again"));
        stop.trigger();
    };
    let args = ["run", "-c", config.to_str().unwrap()];
    let (run, ()) = tokio::join!(run_cli(&args, None, shutdown), driver);
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
    assert!(run.logs.contains("bot starting"), "{}", run.logs);
}

/// `mpbot run` refuses to start a polling bot while a webhook is registered (exit 5) and names
/// the deliberate way out.
#[tokio::test]
async fn run_refuses_polling_while_a_webhook_is_set() {
    let world = World::start().await;
    let receiver = super::support::Receiver::start(&world.ca, 200).await;
    world.register_webhook(&receiver.url()).await;
    let config = world.polling("\n[plugins.echo]\n");
    let run = run_cli(
        &["run", "-c", config.to_str().unwrap()],
        None,
        Shutdown::never(),
    )
    .await;
    assert_eq!(run.exit, Exit::Remote, "{}", run.all());
    assert!(run.err.contains(&receiver.url()), "{}", run.err);
    assert!(
        run.err.contains(&format!(
            "mpbot webhook delete --config FILE --confirm {USERNAME}"
        )),
        "{}",
        run.err
    );
}

/// `mpbot smoke` passes every step against a bot that `mpbot run` is running.
#[tokio::test]
async fn smoke_passes_against_mpbot_run() {
    let world = World::start().await;
    let config = world.polling("\n[plugins.echo]\n");
    let path = config.to_str().unwrap();
    let (stop, shutdown) = Shutdown::new();
    let smoke = async {
        let run = run_cli(
            &["smoke", "-c", path, "--chat-id", "42"],
            None,
            Shutdown::never(),
        )
        .await;
        stop.trigger();
        run
    };
    let args = ["run", "-c", path];
    let (run, smoke) = tokio::join!(run_cli(&args, None, shutdown), smoke);
    assert_eq!(smoke.exit, Exit::Success, "{}", smoke.all());
    assert!(
        smoke.out.contains("3. an update reaches the bot: pass"),
        "{}",
        smoke.out
    );
    assert!(smoke.out.contains("smoke test: passed"), "{}", smoke.out);
    assert_eq!(run.exit, Exit::Success, "{}", run.all());
}

/// A webhook bot (`[plugins.echo]`) on a pre-bound loopback port, not started yet: the app,
/// its config file and the port.
fn webhook_bot(world: &World) -> (App, std::path::PathBuf, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = webhook_bot_config(world, port);
    let loaded = Config::from_file_with_env(&config, env).unwrap();
    (
        App::new(loaded).with_webhook_listener(listener),
        config,
        port,
    )
}

/// Writes the test CA's server certificate and key next to the config, and a webhook config
/// for `https://localhost:PORT/hook` served by the bot itself (TLS, register = "off").
fn webhook_bot_config(world: &World, port: u16) -> std::path::PathBuf {
    std::fs::write(world.dir.join("cert.pem"), world.ca.server_cert_pem()).unwrap();
    std::fs::write(world.dir.join("key.pem"), world.ca.server_key_pem()).unwrap();
    world.webhook(
        &format!("https://localhost:{port}/hook"),
        "",
        &format!(
            "listen = \"127.0.0.1:{port}\"\nregister = \"off\"\n\
             tls = {{ cert = \"cert.pem\", key = \"key.pem\" }}\n\n[plugins.echo]\n"
        ),
    )
}

/// Against a listening mpbot webhook, `webhook set` probes it, registers it, and then
/// `smoke` passes every step in webhook mode.
#[tokio::test]
async fn set_and_smoke_against_a_listening_mpbot_webhook() {
    let world = World::start().await;
    let (app, config, port) = webhook_bot(&world);
    let path = config.to_str().unwrap();
    let (stop, shutdown) = Shutdown::new();
    let operator = async {
        let set = world
            .webhook_set_trusting_the_test_ca(&config, USERNAME, &[])
            .await;
        let smoke = run_cli(
            &["smoke", "-c", path, "--chat-id", "42"],
            None,
            Shutdown::never(),
        )
        .await;
        stop.trigger();
        (set, smoke)
    };
    let (ran, (set, smoke)) = tokio::join!(app.run_with(shutdown, Shutdown::never()), operator);
    ran.unwrap();
    assert_eq!(set.exit, Exit::Success, "{}", set.all());
    assert!(set.out.contains("probe: HTTP 200: ok"), "{}", set.out);
    assert_eq!(
        world.bot().webhook_info().url,
        format!("https://localhost:{port}/hook")
    );
    assert_eq!(smoke.exit, Exit::Success, "{}", smoke.all());
    assert!(
        smoke
            .out
            .contains("2. getWebhookInfo: pass: the webhook is https://localhost:"),
        "{}",
        smoke.out
    );
    assert!(
        smoke.out.contains("3. an update reaches the bot: pass"),
        "{}",
        smoke.out
    );
}

/// With the webhook bot down, smoke fails at step 3 and names the failed delivery.
#[tokio::test]
async fn smoke_names_step_3_when_the_webhook_bot_is_down() {
    let world = World::start().await;
    // Registered while the bot listened once; now nothing listens there.
    let (app, config, _port) = webhook_bot(&world);
    let path = config.to_str().unwrap();
    let (stop, shutdown) = Shutdown::new();
    let register = async {
        let set = world
            .webhook_set_trusting_the_test_ca(&config, USERNAME, &[])
            .await;
        stop.trigger();
        set
    };
    let (ran, set) = tokio::join!(app.run_with(shutdown, Shutdown::never()), register);
    ran.unwrap();
    assert_eq!(set.exit, Exit::Success, "{}", set.all());

    let smoke = run_cli(
        &["smoke", "-c", path, "--chat-id", "42", "--wait-secs", "2"],
        None,
        Shutdown::never(),
    )
    .await;
    assert_eq!(smoke.exit, Exit::SmokeFailed, "{}", smoke.all());
    assert!(
        smoke
            .out
            .contains("3. an update reaches the bot: FAIL: webhook delivery failed"),
        "{}",
        smoke.out
    );
    assert!(
        smoke
            .out
            .contains("FAILED at step 3 (an update reaches the bot)"),
        "{}",
        smoke.out
    );
}

/// A plugin table the plugin refuses is a config error (exit 3) naming the plugin.
#[tokio::test]
async fn run_reports_a_bad_plugin_table_as_a_config_error() {
    let world = World::start().await;
    let config = world.polling("\n[plugins.welcome]\ntext = \"Hi {nope}\"\n");
    let run = run_cli(
        &["run", "-c", config.to_str().unwrap()],
        None,
        Shutdown::never(),
    )
    .await;
    assert_eq!(run.exit, Exit::Config, "{}", run.all());
    assert!(run.err.contains("welcome"), "{}", run.err);
}
