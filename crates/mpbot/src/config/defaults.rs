//! The default of every key that has one (docs/configuration.md lists the same values; a test
//! checks that an empty `[bot]`-only file produces them).

/// `bot.api_url`.
pub const API_URL: &str = "https://call.mp.net/bot";
/// `bot.token_env`.
pub const TOKEN_ENV: &str = "MPCHAT_BOT_TOKEN";
/// `delivery.polling.timeout_secs`.
pub const POLL_TIMEOUT_SECS: u64 = 30;
/// `delivery.polling.limit`.
pub const POLL_LIMIT: u32 = 100;
/// `delivery.polling.conflict_overlap_secs`.
pub const CONFLICT_OVERLAP_SECS: u64 = 30;
/// `delivery.webhook.listen`.
pub const WEBHOOK_LISTEN: &str = "0.0.0.0:8443";
/// `delivery.webhook.max_connections`.
pub const WEBHOOK_MAX_CONNECTIONS: u32 = 40;
/// `delivery.webhook.max_body_bytes` (1 MiB).
pub const WEBHOOK_MAX_BODY_BYTES: usize = 1024 * 1024;
/// `delivery.webhook.header_read_timeout_secs`.
pub const WEBHOOK_HEADER_READ_TIMEOUT_SECS: u64 = 10;
/// `delivery.webhook.body_read_timeout_secs`.
pub const WEBHOOK_BODY_READ_TIMEOUT_SECS: u64 = 30;
/// `delivery.webhook.idle_timeout_secs`.
pub const WEBHOOK_IDLE_TIMEOUT_SECS: u64 = 60;
/// `delivery.webhook.max_open_connections`.
pub const WEBHOOK_MAX_OPEN_CONNECTIONS: usize = 1024;
/// `delivery.journal.path` (relative to the config file's directory).
pub const JOURNAL_PATH: &str = "mpbot-journal";
/// `delivery.journal.retention_secs` (24 h, MPChat's own update retention).
pub const JOURNAL_RETENTION_SECS: u64 = 24 * 60 * 60;
/// `runtime.max_concurrency`.
pub const MAX_CONCURRENCY: usize = 64;
/// `runtime.queue_bound`.
pub const QUEUE_BOUND: usize = 1024;
/// `runtime.shutdown_grace_secs`.
pub const SHUTDOWN_GRACE_SECS: u64 = 10;
/// `admin.poll_grace_secs`.
pub const ADMIN_POLL_GRACE_SECS: u64 = 15;
/// `admin.webhook_check_interval_secs`.
pub const ADMIN_WEBHOOK_CHECK_INTERVAL_SECS: u64 = 60;
/// `admin.webhook_error_window_secs`.
pub const ADMIN_WEBHOOK_ERROR_WINDOW_SECS: u64 = 300;
/// `log.level`.
pub const LOG_LEVEL: &str = "info";
