//! The mpbot demo: one bot, two delivery modes, the same conversation.
//!
//! It starts the bundled MPChat emulator in-process (no network, no token), runs a bot made of
//! the built-in plugins plus a small custom one in **polling** mode through a scripted
//! conversation (messages, commands, a join, a pin, a leave) and prints the transcript; then it
//! runs the same bot with only `delivery.mode` changed to **webhook** (HTTPS through a test CA
//! made on the spot, a secret header, `register = "auto"`) through the same script, prints that
//! transcript, and checks that the two are identical.
//!
//! Run with:
//!
//! ```sh
//! cargo run -p mpbot-examples --example demo
//! ```

use std::process::ExitCode;

use mpbot_examples::demo;

#[tokio::main]
async fn main() -> ExitCode {
    mpbot_examples::init_logging();
    let mut runs = Vec::new();
    for mode in ["polling", "webhook"] {
        println!("== delivery.mode = \"{mode}\"");
        match demo::run(mode).await {
            Ok(run) => {
                for line in &run.transcript {
                    println!("{line}");
                }
                println!();
                runs.push(run);
            }
            Err(error) => {
                eprintln!("the {mode} run failed: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let (polling, webhook) = (&runs[0], &runs[1]);
    if polling == webhook {
        println!(
            "Both transcripts are identical ({} lines, {} updates handled the same way).",
            polling.transcript.len(),
            polling.handler_calls.len()
        );
        println!("Switching from development to production was one line: mode = \"webhook\".");
        ExitCode::SUCCESS
    } else {
        eprintln!("The transcripts differ:\n{polling:#?}\n{webhook:#?}");
        ExitCode::FAILURE
    }
}
