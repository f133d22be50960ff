//! The `mpbot-emulator` binary: the ready line and gen-tls.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::support::{answer, client, guard};

const BIN: &str = env!("CARGO_BIN_EXE_mpbot-emulator");

/// With `--listen 127.0.0.1:0` the binary prints exactly one ready line on stdout and serves.
#[tokio::test]
async fn binary_prints_the_ready_line_and_serves() {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--bot",
            "42:ABC=answer_bot",
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
        .expect("the ready line");
    assert!(
        api_url.starts_with("http://127.0.0.1:") && api_url.ends_with("/bot"),
        "{line}"
    );
    let base = api_url.trim_end_matches("/bot");
    let health = answer(
        guard(client().get(format!("{base}/_emulator/health")).send())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health.status, 200);
    let me = answer(
        guard(client().get(format!("{api_url}/bot42:ABC/getMe")).send())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me.body["result"]["username"], "answer_bot");
    assert_eq!(me.body["result"]["id"], 42);
    child.kill().await.unwrap();
    // Nothing else was printed on stdout.
    assert_eq!(guard(lines.next_line()).await.unwrap(), None);
}

/// `gen-tls --out DIR --host NAME` writes the CA, the server certificate and key as PEM.
#[tokio::test]
async fn gen_tls_writes_pem_files() {
    let dir = std::env::temp_dir().join(format!("mpbot-emulator-gen-tls-{}", std::process::id()));
    let status = guard(
        Command::new(BIN)
            .args(["gen-tls", "--out"])
            .arg(&dir)
            .args(["--host", "bot.example.test"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status(),
    )
    .await
    .unwrap();
    assert!(status.success());
    for (file, marker) in [
        ("ca-cert.pem", "BEGIN CERTIFICATE"),
        ("server-cert.pem", "BEGIN CERTIFICATE"),
        ("server-key.pem", "PRIVATE KEY"),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(text.contains(marker), "{file}");
    }
    // The written CA is usable: an emulator trusting it starts.
    let pem = std::fs::read(dir.join("ca-cert.pem")).unwrap();
    let emu = mpbot_emulator::Emulator::builder()
        .trust_ca_pem(&pem)
        .start()
        .await;
    assert!(emu.is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}
