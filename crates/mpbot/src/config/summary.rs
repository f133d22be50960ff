//! The human summary behind `Config`'s `Display` (what `mpbot check` prints). Secrets appear
//! only as their masks and their sources.

use std::fmt;

use super::{Config, SourceSettings};

pub(super) fn write(c: &Config, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "config: {}", c.origin.display())?;
    let b = &c.bot;
    writeln!(f, "bot:")?;
    writeln!(f, "  api_url: {}", b.api_url)?;
    writeln!(f, "  token: {} (from {})", b.token, b.token_source)?;
    match &b.expect_username {
        Some(name) => writeln!(f, "  expect_username: @{name}")?,
        None => writeln!(f, "  expect_username: (not checked)")?,
    }
    let d = &c.delivery;
    writeln!(f, "delivery:")?;
    writeln!(f, "  mode: {}", d.mode().as_str())?;
    writeln!(f, "  ack: {}", d.ack.as_str())?;
    match &d.allowed_updates {
        Some(list) => writeln!(f, "  allowed_updates: [{}]", list.join(", "))?,
        None => writeln!(f, "  allowed_updates: (derived from the handlers)")?,
    }
    if let Some(j) = &d.journal {
        writeln!(
            f,
            "  journal: {} (retention {}s)",
            j.path.display(),
            j.retention.as_secs()
        )?;
    }
    match &d.source {
        SourceSettings::Polling(p) => {
            writeln!(f, "  polling:")?;
            writeln!(f, "    timeout: {}s", p.timeout.as_secs())?;
            writeln!(f, "    limit: {}", p.limit)?;
            writeln!(f, "    conflict_overlap: {}s", p.conflict_overlap.as_secs())?;
        }
        SourceSettings::Webhook(w) => {
            writeln!(f, "  webhook:")?;
            writeln!(f, "    listen: {}", w.listen)?;
            writeln!(f, "    public_url: {} (serving {})", w.public_url, w.path)?;
            match (&w.secret, &w.secret_source) {
                (Some(s), Some(src)) => writeln!(f, "    secret: {s} (from {src})")?,
                _ => writeln!(f, "    secret: NONE (allow_missing_secret = true)")?,
            }
            match &w.tls {
                Some(t) => writeln!(
                    f,
                    "    tls: cert {}, key {}",
                    t.cert.display(),
                    t.key.display()
                )?,
                None => writeln!(f, "    tls: none (plain HTTP behind a TLS proxy)")?,
            }
            writeln!(f, "    max_connections: {}", w.max_connections)?;
            writeln!(f, "    register: {}", w.register.as_str())?;
            writeln!(f, "    on_stop: {}", w.on_stop.as_str())?;
            writeln!(f, "    max_body_bytes: {}", w.max_body_bytes)?;
            match w.ack_deadline {
                Some(t) => writeln!(f, "    ack_deadline: {}s", t.as_secs())?,
                None => writeln!(f, "    ack_deadline: none")?,
            }
            writeln!(
                f,
                "    timeouts: header {}s, body {}s, idle {}s",
                w.header_read_timeout.as_secs(),
                w.body_read_timeout.as_secs(),
                w.idle_timeout.as_secs()
            )?;
            writeln!(f, "    max_open_connections: {}", w.max_open_connections)?;
        }
    }
    let r = &c.runtime;
    writeln!(f, "runtime:")?;
    writeln!(f, "  max_concurrency: {}", r.max_concurrency)?;
    writeln!(f, "  queue_bound: {}", r.queue_bound)?;
    writeln!(f, "  shutdown_grace: {}s", r.shutdown_grace.as_secs())?;
    match c.admin.listen {
        Some(addr) => writeln!(f, "admin: listen {addr}")?,
        None => writeln!(f, "admin: off")?,
    }
    writeln!(f, "log: {} at {}", c.log.format.as_str(), c.log.level)?;
    if c.plugins.is_empty() {
        writeln!(f, "plugins: none")?;
    } else {
        let names: Vec<&str> = c.plugins.iter().map(|p| p.name()).collect();
        writeln!(f, "plugins: {}", names.join(", "))?;
    }
    for w in &c.warnings {
        writeln!(f, "warning: {w}")?;
    }
    Ok(())
}
