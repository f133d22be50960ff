//! The reachability probe `webhook set` runs before setWebhook, made the way MPChat makes its
//! own: an HTTPS POST with an empty body that must be answered 2xx.

use std::time::Duration;

use mpbot_api::SECRET_HEADER;

/// A probe that passed.
#[derive(Debug)]
pub(crate) struct Passed {
    /// The status the endpoint answered.
    pub(crate) status: u16,
    /// Set when the endpoint answered 2xx only with the secret header: MPChat's probe may not
    /// carry it (undocumented), so this deserves a warning.
    pub(crate) needed_secret: bool,
}

/// POSTs an empty body to `url` (no redirects followed, 10 s timeout), trusting the system
/// roots plus `extra_ca_pem`. First without the secret header; when that is answered 401 or
/// 403 and a secret is configured, once more with it. `Err` says why the probe failed.
pub(crate) async fn probe(
    url: &str,
    extra_ca_pem: Option<&[u8]>,
    secret: Option<&str>,
) -> Result<Passed, String> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "mpbot/",
            env!("CARGO_PKG_VERSION"),
            " (webhook probe)"
        ));
    if let Some(pem) = extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("--ca-cert is not a PEM certificate: {e}"))?;
        if certs.is_empty() {
            return Err("--ca-cert holds no certificate".into());
        }
        builder = builder.tls_certs_merge(certs);
    }
    let http = builder
        .build()
        .map_err(|e| format!("cannot build the probe's HTTP client: {e}"))?;
    let status = post(&http, url, None).await?;
    if (200..300).contains(&status) {
        return Ok(Passed {
            status,
            needed_secret: false,
        });
    }
    if let (401 | 403, Some(secret)) = (status, secret) {
        let with_secret = post(&http, url, Some(secret)).await?;
        if (200..300).contains(&with_secret) {
            return Ok(Passed {
                status: with_secret,
                needed_secret: true,
            });
        }
    }
    Err(format!(
        "{url} answered HTTP {status} to an empty POST; MPChat's probe needs any 2xx \
         (the webhook handler should answer 200 to an empty body)"
    ))
}

async fn post(http: &reqwest::Client, url: &str, secret: Option<&str>) -> Result<u16, String> {
    let mut req = http
        .post(url)
        .header(reqwest::header::CONTENT_LENGTH, "0")
        .body(Vec::<u8>::new());
    if let Some(secret) = secret {
        req = req.header(SECRET_HEADER, secret);
    }
    match req.send().await {
        Ok(resp) => Ok(resp.status().as_u16()),
        Err(e) => Err(format!("{url} could not be reached: {}", describe(&e))),
    }
}

/// A reqwest error as one line with its causes (it never holds the secret: headers are not
/// part of reqwest's messages).
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
