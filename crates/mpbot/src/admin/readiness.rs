//! The readiness rules, as pure functions, and the tasks that keep [`Readiness`] current.
//!
//! "Ready" means "receiving updates", not "process up": a poller whose getUpdates keeps
//! failing, or a webhook MPChat no longer posts to, is alive but not ready.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mpbot_api::{Bot, WebhookInfo};
use mpbot_core::Shutdown;
use mpbot_poller::{HealthSnapshot, PollingHealth, PollingState};
use mpbot_webhook::WebhookHealth;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

/// One readiness verdict, as `/readyz` serves it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReadyState {
    /// Whether the source is started and receiving.
    pub ready: bool,
    /// `"polling"`, `"webhook"`, or `"none"` before the source exists.
    pub source: &'static str,
    /// Why, in words: what makes it ready, or what is missing.
    pub reason: String,
}

impl ReadyState {
    fn not_ready(source: &'static str, reason: impl Into<String>) -> Self {
        Self {
            ready: false,
            source,
            reason: reason.into(),
        }
    }

    fn ready(source: &'static str, reason: impl Into<String>) -> Self {
        Self {
            ready: true,
            source,
            reason: reason.into(),
        }
    }

    /// Before the source is built.
    pub(crate) fn starting() -> Self {
        Self::not_ready("none", "the bot is starting")
    }
}

/// A cloneable view of the bot's readiness: what `/readyz` answers, and a way to wait for a
/// change. Get it with [`App::readiness`](crate::App::readiness) before running the app.
///
/// It is kept current by the admin listener's tasks, so it only changes while an admin listener
/// runs (`[admin] listen` or [`App::with_admin_listener`](crate::App::with_admin_listener)).
#[derive(Debug, Clone)]
pub struct Readiness {
    rx: watch::Receiver<ReadyState>,
}

impl Readiness {
    pub(crate) fn new(rx: watch::Receiver<ReadyState>) -> Self {
        Self { rx }
    }

    /// The current verdict.
    pub fn current(&self) -> ReadyState {
        self.rx.borrow().clone()
    }

    /// Waits until a verdict satisfies `predicate` (checked at once, then on every change) and
    /// returns it; returns the last verdict if the app was dropped first.
    ///
    /// # Cancel safety
    /// Cancel-safe.
    pub async fn wait_for(&mut self, mut predicate: impl FnMut(&ReadyState) -> bool) -> ReadyState {
        let found = self.rx.wait_for(|s| predicate(s)).await.map(|r| r.clone());
        found.unwrap_or_else(|_| self.current())
    }
}

/// The polling rule: ready when the poller is healthy and its last successful getUpdates ended
/// less than `stale_after` (long-poll timeout + `admin.poll_grace_secs`) before `now`.
pub(crate) fn polling(
    snapshot: &HealthSnapshot,
    now: Instant,
    stale_after: Duration,
) -> ReadyState {
    const SOURCE: &str = "polling";
    match snapshot.state {
        PollingState::Starting => {
            ReadyState::not_ready(SOURCE, "no successful getUpdates yet (starting)")
        }
        PollingState::Stopped => ReadyState::not_ready(SOURCE, "the poller stopped"),
        PollingState::Degraded => ReadyState::not_ready(
            SOURCE,
            format!(
                "getUpdates is failing ({} attempts since the last success): {}",
                snapshot.consecutive_failures,
                snapshot.last_error.as_deref().unwrap_or("unknown error")
            ),
        ),
        _ => match snapshot.last_success {
            None => ReadyState::not_ready(SOURCE, "no successful getUpdates yet"),
            Some(at) => {
                let age = now.saturating_duration_since(at);
                if age < stale_after {
                    ReadyState::ready(
                        SOURCE,
                        format!("last successful getUpdates {} ms ago", age.as_millis()),
                    )
                } else {
                    ReadyState::not_ready(
                        SOURCE,
                        format!(
                            "no successful getUpdates for {} s (limit {} s: long-poll timeout + \
                             admin.poll_grace_secs)",
                            age.as_secs(),
                            stale_after.as_secs()
                        ),
                    )
                }
            }
        },
    }
}

/// The last getWebhookInfo check.
#[derive(Debug, Clone)]
pub(crate) enum WebhookCheck {
    /// The call failed.
    Failed(String),
    /// What it answered, and when (Unix seconds, our clock).
    Info {
        info: Box<WebhookInfo>,
        checked_at_unix: i64,
    },
}

/// The webhook rule: ready when the listener serves and the last getWebhookInfo shows MPChat
/// posting to `public_url` with no `last_error_date` within `error_window` of the check.
pub(crate) fn webhook(
    serving: bool,
    check: &WebhookCheck,
    public_url: &str,
    error_window: Duration,
) -> ReadyState {
    const SOURCE: &str = "webhook";
    if !serving {
        return ReadyState::not_ready(SOURCE, "the webhook listener is not serving");
    }
    let (info, checked_at) = match check {
        WebhookCheck::Failed(error) => {
            return ReadyState::not_ready(SOURCE, format!("getWebhookInfo failed: {error}"));
        }
        WebhookCheck::Info {
            info,
            checked_at_unix,
        } => (info, *checked_at_unix),
    };
    if info.url.is_empty() {
        return ReadyState::not_ready(SOURCE, "no webhook is registered with MPChat");
    }
    if info.url != public_url {
        return ReadyState::not_ready(
            SOURCE,
            format!(
                "the webhook registered with MPChat points elsewhere ({}), not at \
                 delivery.webhook.public_url",
                info.url
            ),
        );
    }
    let window = i64::try_from(error_window.as_secs()).unwrap_or(i64::MAX);
    if let Some(date) = info.last_error_date
        && window > 0
        && checked_at.saturating_sub(date) < window
    {
        return ReadyState::not_ready(
            SOURCE,
            format!(
                "MPChat reported a delivery error {} s before the last check: {}",
                checked_at.saturating_sub(date).max(0),
                info.last_error_message.as_deref().unwrap_or("(no message)")
            ),
        );
    }
    ReadyState::ready(
        SOURCE,
        "serving, and MPChat posts to public_url without recent errors",
    )
}

/// What the admin listener evaluates readiness from.
#[derive(Debug, Clone)]
pub(crate) enum SourceProbe {
    /// A long poller.
    Polling {
        health: PollingHealth,
        stale_after: Duration,
    },
    /// A webhook listener, with the client for getWebhookInfo.
    Webhook {
        health: WebhookHealth,
        bot: Bot,
        public_url: String,
        interval: Duration,
        error_window: Duration,
    },
}

/// Keeps `tx` current until `shutdown`: on every poller health change and at the moment the
/// last success goes stale (polling), or after every getWebhookInfo check (webhook).
pub(crate) async fn monitor(probe: SourceProbe, tx: watch::Sender<ReadyState>, shutdown: Shutdown) {
    match probe {
        SourceProbe::Polling {
            mut health,
            stale_after,
        } => loop {
            let snapshot = health.snapshot();
            let now = Instant::now();
            tx.send_replace(polling(&snapshot, now, stale_after));
            // Wake at the change of the health reading or when the success goes stale.
            let stale_at = snapshot
                .last_success
                .filter(|_| snapshot.state == PollingState::Healthy)
                .map(|at| at + stale_after)
                .filter(|at| *at > now);
            tokio::select! {
                _ = health.wait_for(|s| *s != snapshot) => {}
                () = sleep_until(stale_at) => {}
                () = shutdown.requested() => return,
            }
        },
        SourceProbe::Webhook {
            health,
            bot,
            public_url,
            interval,
            error_window,
        } => {
            // NB: not ready yet re-checks sooner, so a registration made right after start
            // (`register = "auto"`) is seen without waiting a full interval.
            let retry = interval.min(Duration::from_secs(5));
            loop {
                let check = tokio::select! {
                    result = bot.get_webhook_info() => match result {
                        Ok(info) => WebhookCheck::Info {
                            info: Box::new(info),
                            checked_at_unix: unix_now(),
                        },
                        Err(error) => WebhookCheck::Failed(error.to_string()),
                    },
                    () = shutdown.requested() => return,
                };
                let state = webhook(health.is_serving(), &check, &public_url, error_window);
                if state.ready != tx.borrow().ready {
                    tracing::info!(ready = state.ready, reason = %state.reason, "webhook readiness changed");
                }
                let next = if state.ready { interval } else { retry };
                tx.send_replace(state);
                tokio::select! {
                    () = tokio::time::sleep(next) => {}
                    () = shutdown.requested() => return,
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(url: &str, last_error_date: Option<i64>) -> WebhookCheck {
        let info = WebhookInfo {
            url: url.to_owned(),
            last_error_date,
            ..WebhookInfo::default()
        };
        WebhookCheck::Info {
            info: Box::new(info),
            checked_at_unix: 1_000_000,
        }
    }

    /// Pins the webhook rule: serving, pointing at us, and no error inside the window.
    #[test]
    fn webhook_rule_table() {
        let url = "https://bot.example/hook";
        let window = Duration::from_secs(300);
        let cases = [
            (false, info(url, None), false, "not serving"),
            (
                true,
                WebhookCheck::Failed("x".into()),
                false,
                "check failed",
            ),
            (true, info("", None), false, "no webhook"),
            (true, info("https://other/hook", None), false, "elsewhere"),
            (true, info(url, Some(1_000_000 - 10)), false, "recent error"),
            (true, info(url, Some(1_000_000 - 300)), true, "old error"),
            (true, info(url, None), true, "all good"),
        ];
        for (serving, check, ready, name) in cases {
            let state = webhook(serving, &check, url, window);
            assert_eq!(state.ready, ready, "{name}: {}", state.reason);
            assert_eq!(state.source, "webhook");
        }
        // A zero window ignores errors.
        assert!(webhook(true, &info(url, Some(1_000_000)), url, Duration::ZERO).ready);
    }

    /// Pins the polling rule: healthy and a success younger than the limit.
    #[tokio::test(start_paused = true)]
    async fn polling_rule_goes_stale_after_the_limit() {
        let limit = Duration::from_secs(45);
        let at = Instant::now();
        let mut snapshot = healthy_snapshot(at);
        assert!(polling(&snapshot, at + Duration::from_secs(44), limit).ready);
        let stale = polling(&snapshot, at + limit, limit);
        assert!(!stale.ready);
        assert!(
            stale.reason.contains("no successful getUpdates"),
            "{}",
            stale.reason
        );
        snapshot.state = PollingState::Degraded;
        assert!(!polling(&snapshot, at, limit).ready);
        snapshot.state = PollingState::Starting;
        assert!(!polling(&snapshot, at, limit).ready);
    }

    /// A poll API whose first getUpdates answers (empty) and whose later ones never answer:
    /// MPChat hanging.
    #[derive(Default)]
    struct HangsAfterOne {
        calls: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl mpbot_poller::PollApi for HangsAfterOne {
        async fn get_me(&self) -> mpbot_api::Result<mpbot_api::User> {
            Ok(mpbot_api::User::new(1))
        }
        async fn get_webhook_info(&self) -> mpbot_api::Result<WebhookInfo> {
            Ok(WebhookInfo::default())
        }
        async fn get_updates(
            &self,
            _request: &mpbot_api::methods::GetUpdates,
        ) -> mpbot_api::Result<Vec<mpbot_api::Update>> {
            if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                Ok(Vec::new())
            } else {
                std::future::pending().await
            }
        }
    }

    /// Pins the monitor's stale wake-up: a poller whose getUpdates hangs after one success
    /// turns not ready exactly when the success is `stale_after` old, without any poll loop.
    #[tokio::test(start_paused = true)]
    async fn monitor_turns_not_ready_when_getupdates_hangs() {
        use mpbot_core::UpdateSource;
        let stale_after = Duration::from_secs(45);
        let options = mpbot_poller::LongPollingOptions::new().with_timeout_secs(30);
        let poller =
            mpbot_poller::LongPolling::new(HangsAfterOne::default(), options).expect("poller");
        let health = poller.health();
        let dispatcher = mpbot_core::Dispatcher::new(
            test_bot(),
            mpbot_api::User::new(1),
            mpbot_core::Router::new(),
            mpbot_core::DispatcherOptions::new(),
        );
        let sink = dispatcher.sink(&poller.describe());
        let (stop, shutdown) = Shutdown::new();
        let polling = tokio::spawn(Box::new(poller).run(sink, shutdown.clone()));
        let (tx, rx) = watch::channel(ReadyState::starting());
        let monitor = tokio::spawn(monitor(
            SourceProbe::Polling {
                health,
                stale_after,
            },
            tx,
            shutdown,
        ));
        let mut readiness = Readiness::new(rx);

        let ready = readiness.wait_for(|s| s.ready).await;
        assert_eq!(ready.source, "polling");
        let ready_at = Instant::now();
        // Hang guard in virtual time: without the stale wake-up nothing would ever change.
        let stale =
            tokio::time::timeout(Duration::from_secs(3600), readiness.wait_for(|s| !s.ready))
                .await
                .expect("not ready once the last success is stale");
        assert!(
            stale.reason.contains("no successful getUpdates for 45 s"),
            "{stale:?}"
        );
        assert_eq!(Instant::now() - ready_at, stale_after);

        stop.trigger();
        monitor.await.expect("monitor");
        polling
            .await
            .expect("poller task")
            .expect("poller stops cleanly");
    }

    fn test_bot() -> Bot {
        Bot::builder(mpbot_api::BotToken::new("1:t").expect("token"))
            .api_url("http://127.0.0.1:9/bot")
            .build()
            .expect("client")
    }

    fn healthy_snapshot(at: Instant) -> HealthSnapshot {
        // NB: HealthSnapshot is non_exhaustive; start from a real poller's reading.
        let poller =
            mpbot_poller::LongPolling::new(test_bot(), mpbot_poller::LongPollingOptions::new())
                .expect("poller");
        let mut snapshot = poller.health().snapshot();
        snapshot.state = PollingState::Healthy;
        snapshot.last_success = Some(at);
        snapshot
    }
}
