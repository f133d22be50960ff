//! [`App`]: a bot made of a config, plugins and handlers, run with the source the config picks.

use std::future::Future;
use std::path::Path;

use mpbot_api::{Bot, RetryPolicy, User};
use mpbot_core::{
    AckPolicy, Dispatcher, DispatcherOptions, Router, Shutdown, ShutdownReport, UpdateSource,
};
use mpbot_journal::{Journal, JournalOptions};
use mpbot_poller::{LongPolling, LongPollingOptions};
use mpbot_webhook::{Webhook, WebhookOptions, WebhookSecret};

use tokio::sync::watch;

use crate::Error;
use crate::admin::{AdminServer, AdminState, Readiness, ReadyState, SourceProbe};
use crate::config::{Config, PollingSettings, SourceSettings, WebhookSettings};
use crate::plugins::PluginRegistry;

type Routes = Box<dyn FnOnce(&mut Router) + Send>;

/// A bot: a [`Config`], the plugin types it may enable, and the application's own handlers.
///
/// The source (long polling or webhook) is chosen at run time from `delivery.mode`; nothing
/// else in the application changes between development and production.
///
/// # Examples
///
/// ```no_run
/// use mpbot::prelude::*;
///
/// # async fn run() -> Result<(), mpbot::Error> {
/// App::from_config_file("bot.toml")?
///     .routes(|router| {
///         router.command("ping", |ctx: Context, _cmd: Command| async move {
///             ctx.reply("pong").await?;
///             Ok::<_, mpbot::api::Error>(())
///         });
///     })
///     .run()
///     .await?;
/// # Ok(())
/// # }
/// ```
pub struct App {
    config: Config,
    registry: PluginRegistry,
    routes: Vec<Routes>,
    /// A listener bound by the caller for webhook mode (tests bind port 0 and put the port in
    /// `public_url` before the config is read).
    webhook_listener: Option<std::net::TcpListener>,
    /// A listener bound by the caller for the admin endpoints (tests bind port 0).
    admin_listener: Option<std::net::TcpListener>,
    /// The readiness `/readyz` serves; [`App::readiness`] hands out views of it.
    readiness: watch::Sender<ReadyState>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("mode", &self.config.mode())
            .field("plugins", &self.registry)
            .field("routes", &self.routes.len())
            .finish()
    }
}

impl App {
    /// A bot from a loaded config, with the built-in plugin types registered.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            registry: PluginRegistry::with_builtins(),
            routes: Vec::new(),
            webhook_listener: None,
            admin_listener: None,
            readiness: watch::Sender::new(ReadyState::starting()),
        }
    }

    /// Loads `path` (with the process environment for secrets and overrides) into an [`App`].
    ///
    /// # Errors
    /// [`Error::Config`] naming the file, line and key.
    pub fn from_config_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        Ok(Self::new(Config::from_file(path)?))
    }

    /// The config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Registers a plugin type; a `[plugins.NAME]` table with its name enables it.
    pub fn plugin(mut self, plugin: impl mpbot_core::Plugin) -> Self {
        self.registry.register(plugin);
        self
    }

    /// Replaces the plugin registry (to drop the built-ins, say).
    pub fn with_registry(mut self, registry: PluginRegistry) -> Self {
        self.registry = registry;
        self
    }

    /// Adds the application's own handlers. They are registered after the plugins, so a
    /// plugin's handler for the same kind or command comes first.
    pub fn routes(mut self, routes: impl FnOnce(&mut Router) + Send + 'static) -> Self {
        self.routes.push(Box::new(routes));
        self
    }

    /// In webhook mode, serve on this already-bound listener instead of binding
    /// `delivery.webhook.listen`. Ignored in polling mode.
    pub fn with_webhook_listener(mut self, listener: std::net::TcpListener) -> Self {
        self.webhook_listener = Some(listener);
        self
    }

    /// Serves the admin endpoints (`/healthz`, `/readyz`, `/metrics`) on this already-bound
    /// listener instead of binding `admin.listen`; this also turns the admin listener on when
    /// `admin.listen` is not set. Tests bind `127.0.0.1:0` and read the port from the listener.
    pub fn with_admin_listener(mut self, listener: std::net::TcpListener) -> Self {
        self.admin_listener = Some(listener);
        self
    }

    /// A view of the bot's readiness (what `/readyz` answers), to read or wait on. It is kept
    /// current only while an admin listener runs; before the source starts it says "starting".
    pub fn readiness(&self) -> Readiness {
        Readiness::new(self.readiness.subscribe())
    }

    /// Runs until SIGINT or SIGTERM; a second signal forces the stop without waiting for the
    /// grace period.
    ///
    /// # Errors
    /// See [`App::run_until`].
    pub async fn run(self) -> Result<ShutdownReport, Error> {
        let (stop, shutdown) = Shutdown::new();
        let (force, forced) = Shutdown::new();
        let signals = tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutdown requested; a second signal forces it");
            stop.trigger();
            shutdown_signal().await;
            tracing::warn!("second signal: forcing shutdown");
            force.trigger();
        });
        let result = self.run_with(shutdown, forced).await;
        signals.abort();
        result
    }

    /// Runs until `shutdown` resolves, then drains within `runtime.shutdown_grace_secs`.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad plugin table, [`Error::Api`] when `getMe` fails,
    /// [`Error::WrongBot`], or [`Error::Runtime`] when the source stops with a fatal error.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<ShutdownReport, Error> {
        let (stop, signal) = Shutdown::new();
        let watcher = tokio::spawn(async move {
            shutdown.await;
            stop.trigger();
        });
        let result = self.run_with(signal, Shutdown::never()).await;
        watcher.abort();
        result
    }

    /// Runs until `shutdown` is requested; `force` cuts the drain short.
    ///
    /// # Errors
    /// See [`App::run_until`].
    pub async fn run_with(
        self,
        shutdown: Shutdown,
        force: Shutdown,
    ) -> Result<ShutdownReport, Error> {
        let started = self.start().await?;
        tracing::info!(
            bot = started.me.username.as_deref().unwrap_or("?"),
            mode = started.config.mode().as_str(),
            "bot starting"
        );
        let Started {
            dispatcher,
            source,
            journal,
            admin,
            ..
        } = started;
        let (stop_admin, admin_shutdown) = Shutdown::new();
        let mut admin_tasks = Vec::new();
        if let Some(admin) = admin {
            if let Some(addr) = admin.server.local_addr() {
                tracing::info!(%addr, metrics = admin.state.metrics.is_some(), "admin listener started");
            }
            admin_tasks.push(tokio::spawn(
                admin.server.serve(admin.state, admin_shutdown.clone()),
            ));
            admin_tasks.push(tokio::spawn(crate::admin::monitor(
                admin.probe,
                admin.readiness,
                admin_shutdown,
            )));
        }
        let result = match journal {
            None => dispatcher
                .run_with_force(source, shutdown, force)
                .await
                .map_err(Error::from),
            Some(journal) => run_journaled(dispatcher, source, journal, shutdown, force).await,
        };
        stop_admin.trigger();
        for task in admin_tasks {
            let _ = task.await;
        }
        let report = result?;
        tracing::info!(unfinished = report.unfinished.len(), "bot stopped");
        Ok(report)
    }

    /// Everything up to the point where updates would start flowing: the client, the identity
    /// check, the router and the source, bound and ready.
    async fn start(self) -> Result<Started, Error> {
        let Self {
            config,
            registry,
            routes,
            webhook_listener,
            admin_listener,
            readiness,
        } = self;
        for warning in config.warnings() {
            tracing::warn!(%warning, "configuration");
        }
        let bot = Bot::builder(config.bot.token.clone())
            .api_url(&config.bot.api_url)
            .build()?;
        let me = bot.get_me().await?;
        check_identity(&config, &me)?;
        // NB: bound (and the recorder installed) before the dispatcher is built: the
        // dispatcher registers its metric handles with the recorder present at that moment.
        let admin_server = if config.admin.listen.is_some() || admin_listener.is_some() {
            let metrics = crate::admin::install_prometheus_recorder();
            let server = AdminServer::bind(config.admin.listen, admin_listener)
                .await
                .map_err(|source| Error::AdminBind {
                    addr: config
                        .admin
                        .listen
                        .map_or_else(|| "the given listener".to_owned(), |a| a.to_string()),
                    source,
                })?;
            Some((server, metrics))
        } else {
            None
        };

        let mut router = Router::new();
        registry.apply(&config, &mut router)?;
        for add in routes {
            add(&mut router);
        }
        let runtime = &config.runtime;
        let options = DispatcherOptions::new()
            .with_max_concurrency(runtime.max_concurrency)
            .with_queue_bound(runtime.queue_bound)
            .with_shutdown_grace(runtime.shutdown_grace)
            // NB: behind the journal the dispatcher's source is the journal's feeder, which
            // marks an entry handled once the dispatcher says so: that is `handled`.
            .with_ack(match config.delivery.ack {
                AckPolicy::Stored => AckPolicy::Handled,
                other => other,
            });
        let allowed_updates = config
            .delivery
            .allowed_updates
            .clone()
            .or_else(|| router.allowed_updates())
            .filter(|kinds| !kinds.is_empty());
        let dispatcher = Dispatcher::new(bot.clone(), me.clone(), router, options);
        let (source, probe): (Box<dyn UpdateSource>, SourceProbe) = match &config.delivery.source {
            SourceSettings::Polling(polling) => {
                let source = polling_source(&bot, polling, allowed_updates)?;
                let probe = SourceProbe::Polling {
                    health: source.health(),
                    stale_after: polling.timeout + config.admin.poll_grace,
                };
                (Box::new(source), probe)
            }
            SourceSettings::Webhook(webhook) => {
                let grace = config.runtime.shutdown_grace;
                let source =
                    webhook_source(&bot, webhook, allowed_updates, grace, webhook_listener).await?;
                let probe = SourceProbe::Webhook {
                    health: source.health(),
                    bot: bot.with_retry_policy(RetryPolicy::none()),
                    public_url: webhook.public_url.clone(),
                    interval: config.admin.webhook_check_interval,
                    error_window: config.admin.webhook_error_window,
                };
                (Box::new(source), probe)
            }
        };
        let admin = admin_server.map(|(server, metrics)| Admin {
            server,
            state: AdminState {
                metrics,
                dispatcher: dispatcher.clone(),
                readiness: readiness.subscribe(),
            },
            probe,
            readiness,
        });
        // Opened last: the journal's lock is held from here until the bot stops.
        let journal = match &config.delivery.journal {
            Some(settings) if config.delivery.ack == AckPolicy::Stored => {
                let options = JournalOptions::new(&settings.path)
                    .with_retention(settings.retention)
                    .with_max_in_flight(config.runtime.max_concurrency);
                Some(Journal::open(options).map_err(Error::Journal)?)
            }
            _ => None,
        };
        Ok(Started {
            config,
            me,
            dispatcher,
            source,
            journal,
            admin,
        })
    }
}

/// An [`App`] with its client, identity, dispatcher and source ready.
struct Started {
    config: Config,
    me: User,
    dispatcher: Dispatcher,
    source: Box<dyn UpdateSource>,
    /// The durable journal, with `delivery.ack = "stored"`.
    journal: Option<Journal>,
    admin: Option<Admin>,
}

/// The admin listener, bound, with what it serves and what keeps its readiness current.
struct Admin {
    server: AdminServer,
    state: AdminState,
    probe: SourceProbe,
    readiness: watch::Sender<ReadyState>,
}

/// Runs with the journal between the source and the dispatcher: the source's updates are
/// acknowledged once journaled (fsynced), and the dispatcher's source is the journal's feeder,
/// which replays what a previous run left unhandled before new updates.
async fn run_journaled(
    dispatcher: Dispatcher,
    source: Box<dyn UpdateSource>,
    journal: Journal,
    shutdown: Shutdown,
    force: Shutdown,
) -> Result<ShutdownReport, Error> {
    let (sink, feeder) = journal.start().map_err(Error::Journal)?;
    let source_sink = sink.for_source(&source.describe());
    // The dispatcher stops on the caller's shutdown, or when the real source fails (then nothing
    // new can come, and what is journaled is replayed at the next start).
    let (stop_dispatching, dispatching) = shutdown.child();
    let (stop_source, source_shutdown) = shutdown.child();
    let source_task = tokio::spawn(async move {
        let result = source.run(source_sink, source_shutdown).await;
        if result.is_err() {
            stop_dispatching.trigger();
        }
        result
    });
    let report = dispatcher
        .run_with_force(Box::new(feeder), dispatching, force)
        .await;
    stop_source.trigger();
    let source_result = match source_task.await {
        Ok(result) => result,
        Err(join) => Err(mpbot_core::Error::source("source", join.to_string())),
    };
    // The dispatcher may abort a feeder that outlives the grace period: close explicitly so the
    // last handled marks are committed and the lock is released.
    sink.close().await;
    let report = report?;
    source_result?;
    Ok(report)
}

fn check_identity(config: &Config, me: &User) -> Result<(), Error> {
    let Some(expected) = &config.bot.expect_username else {
        return Ok(());
    };
    let actual = me.username.clone().unwrap_or_default();
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::WrongBot {
            expected: expected.clone(),
            actual,
        })
    }
}

fn polling_source(
    bot: &Bot,
    settings: &PollingSettings,
    allowed_updates: Option<Vec<String>>,
) -> Result<LongPolling, Error> {
    let timeout_secs = u32::try_from(settings.timeout.as_secs()).unwrap_or(u32::MAX);
    let options = LongPollingOptions::new()
        .with_timeout_secs(timeout_secs)
        .with_limit(settings.limit)
        .with_allowed_updates_opt(allowed_updates)
        .with_conflict_overlap(settings.conflict_overlap);
    // NB: the poller has its own backoff for every fault; client retries underneath it would
    // multiply the waits and hide state changes from its health.
    LongPolling::new(bot.with_retry_policy(RetryPolicy::none()), options)
        .map_err(|e| Error::Runtime(mpbot_core::Error::source("polling", e)))
}

async fn webhook_source(
    bot: &Bot,
    settings: &WebhookSettings,
    allowed_updates: Option<Vec<String>>,
    shutdown_grace: std::time::Duration,
    listener: Option<std::net::TcpListener>,
) -> Result<Webhook, Error> {
    let mut options = WebhookOptions::new(settings.public_url.clone())
        .with_listen(settings.listen)
        .with_allow_missing_secret(settings.secret.is_none())
        .with_max_body_bytes(settings.max_body_bytes)
        .with_ack_deadline(settings.ack_deadline)
        .with_header_read_timeout(settings.header_read_timeout)
        .with_body_read_timeout(settings.body_read_timeout)
        .with_idle_timeout(settings.idle_timeout)
        .with_connection_limit(settings.max_open_connections)
        .with_shutdown_grace(shutdown_grace)
        .with_max_connections(Some(settings.max_connections))
        .with_allowed_updates(allowed_updates)
        .with_register(match settings.register {
            crate::config::RegisterPolicy::Auto => mpbot_webhook::Register::Auto,
            crate::config::RegisterPolicy::Off => mpbot_webhook::Register::Off,
            _ => mpbot_webhook::Register::Verify,
        })
        .with_on_stop(match settings.on_stop {
            crate::config::OnStop::Delete => mpbot_webhook::OnStop::Delete,
            _ => mpbot_webhook::OnStop::Keep,
        })
        .with_bot(bot.clone());
    if let Some(secret) = &settings.secret {
        options = options.with_secret(WebhookSecret::new(secret.expose()));
    }
    if let Some(tls) = &settings.tls {
        options = options.with_tls(mpbot_webhook::TlsFiles::new(&tls.cert, &tls.key));
    }
    let webhook = match listener {
        Some(listener) => Webhook::from_std_listener(listener, options),
        None => Webhook::bind(options).await,
    };
    webhook.map_err(|e| Error::Runtime(mpbot_core::Error::source("webhook", e)))
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM: what [`App::run`] stops on, for a binary
/// that stops something else the same way (the `mpbot` CLI's emulator).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
