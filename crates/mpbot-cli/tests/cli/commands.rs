//! The command line itself: help with examples everywhere, the version, the `emulator`
//! command as a process.

use std::process::Stdio;

use clap::CommandFactory;
use mpbot_cli::Cli;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::support::guard;

/// Every command and subcommand's help carries examples (the top level also the exit codes).
#[test]
fn every_command_has_examples_in_its_help() {
    let mut root = Cli::command();
    root.build();
    let top = root.render_long_help().to_string();
    assert!(top.contains("Examples:"), "{top}");
    assert!(top.contains("Exit codes:"), "{top}");
    let mut checked = 0;
    let mut stack: Vec<clap::Command> = root.get_subcommands().cloned().collect();
    while let Some(mut cmd) = stack.pop() {
        let name = cmd.get_name().to_owned();
        // `gen-tls` is the emulator's own subcommand; `help` is clap's.
        if name == "help" || name == "gen-tls" {
            continue;
        }
        let subs: Vec<clap::Command> = cmd.get_subcommands().cloned().collect();
        if subs.iter().all(|s| s.get_name() == "help") || name == "emulator" {
            let help = cmd.render_long_help().to_string();
            assert!(
                help.contains("Examples:"),
                "`{name}` help has no examples:\n{help}"
            );
            assert!(
                help.contains("mpbot "),
                "`{name}` examples use mpbot:\n{help}"
            );
            checked += 1;
        }
        stack.extend(subs);
    }
    // run, check, info, set, delete, emulator, smoke, journal stats, list, replay.
    assert_eq!(checked, 10);
}

/// `mpbot --version` prints the package version.
#[test]
fn version_prints_the_package_version() {
    let err = Cli::command()
        .try_get_matches_from(["mpbot", "--version"])
        .unwrap_err();
    assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
    assert_eq!(
        err.to_string().trim(),
        format!("mpbot {}", env!("CARGO_PKG_VERSION"))
    );
}

/// `mpbot emulator` accepts the emulator's flags, prints its ready line and serves.
#[tokio::test]
async fn emulator_command_prints_the_ready_line_and_serves() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mpbot"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--bot",
            "77:XYZ=seven_bot",
            "--rate-limit",
            "off",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = guard(lines.next_line()).await.unwrap().unwrap();
    let api_url = line
        .strip_prefix("mpbot-emulator listening on ")
        .unwrap_or_else(|| panic!("not the ready line: {line}"));
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let me: serde_json::Value = guard(async {
        http.get(format!("{api_url}/bot77:XYZ/getMe"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    })
    .await;
    assert_eq!(me["result"]["username"], "seven_bot");
    child.kill().await.unwrap();
}

/// Usage errors exit with 2 and the binary's exit codes are the documented ones.
#[tokio::test]
async fn usage_error_exits_with_2() {
    let status = guard(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mpbot"))
            .args(["webhook", "set", "--config", "x.toml"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status(),
    )
    .await
    .unwrap();
    assert_eq!(status.code(), Some(2), "--confirm is required");
    let status = guard(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_mpbot"))
            .args(["check", "--config", "/nonexistent/mpbot.toml", "--offline"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status(),
    )
    .await
    .unwrap();
    assert_eq!(status.code(), Some(3), "config error");
}
