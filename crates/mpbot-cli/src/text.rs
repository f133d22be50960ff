//! Text helpers shared by the commands: error chains, shell quoting, webhook info.

use std::fmt::Write as _;
use std::path::Path;

use mpbot_api::WebhookInfo;

/// `mpbot: error: TOP` and one `  caused by: ...` line per source.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = format!("mpbot: error: {error}");
    let mut source = error.source();
    let mut last = error.to_string();
    while let Some(e) = source {
        let line = e.to_string();
        // thiserror's `transparent` and messages that already embed their source repeat it.
        if !last.contains(&line) {
            let _ = write!(text, "\n  caused by: {line}");
        }
        last = line;
        source = e.source();
    }
    text
}

/// `path` as a shell word: unchanged when it holds only safe characters, else single-quoted.
pub(crate) fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if safe {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub(crate) fn utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The URL or `(none)`.
pub(crate) fn url_or_none(url: &str) -> &str {
    if url.is_empty() { "(none)" } else { url }
}

/// A list as `[a, b]`, or `(not set)`.
pub(crate) fn list(value: Option<&[String]>) -> String {
    value.map_or_else(|| "(not set)".to_owned(), |l| format!("[{}]", l.join(", ")))
}

/// getWebhookInfo as indented `key: value` lines.
pub(crate) fn webhook_info(info: &WebhookInfo, indent: &str) -> String {
    let mut s = String::new();
    if info.is_set() {
        let _ = writeln!(s, "{indent}url: {}", info.url);
    } else {
        let _ = writeln!(
            s,
            "{indent}url: (none): no webhook is set; getUpdates works"
        );
    }
    let _ = writeln!(
        s,
        "{indent}pending_update_count: {}",
        info.pending_update_count
            .map_or_else(|| "(not reported)".into(), |n| n.to_string())
    );
    if let Some(n) = info.max_connections {
        let _ = writeln!(s, "{indent}max_connections: {n}");
    }
    if let Some(list) = &info.allowed_updates {
        let _ = writeln!(s, "{indent}allowed_updates: [{}]", list.join(", "));
    }
    if let Some(ip) = &info.ip_address {
        let _ = writeln!(s, "{indent}ip_address: {ip}");
    }
    if let Some(custom) = info.has_custom_certificate {
        let _ = writeln!(s, "{indent}has_custom_certificate: {custom}");
    }
    match (&info.last_error_date, &info.last_error_message) {
        (Some(date), message) => {
            let _ = writeln!(
                s,
                "{indent}last_error: {} ({date}): {}",
                utc(*date),
                message.as_deref().unwrap_or("(no message)")
            );
        }
        (None, Some(message)) => {
            let _ = writeln!(s, "{indent}last_error: {message}");
        }
        (None, None) => {
            let _ = writeln!(s, "{indent}last_error: none");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_469_291), "2026-11-23 21:28:11 UTC");
    }

    #[test]
    fn shell_word_quotes_only_when_needed() {
        assert_eq!(shell_word(Path::new("conf/bot.toml")), "conf/bot.toml");
        assert_eq!(shell_word(Path::new("my bot.toml")), "'my bot.toml'");
        assert_eq!(shell_word(Path::new("it's.toml")), r"'it'\''s.toml'");
    }

    #[test]
    fn error_chain_lists_sources_once() {
        let io = std::io::Error::other("disk on fire");
        let e = crate::Error::Io("reading x".into(), io);
        assert_eq!(
            error_chain(&e),
            "mpbot: error: reading x\n  caused by: disk on fire"
        );
    }
}
