//! TLS: a CA made at test time, HTTP/1.1 and HTTP/2 by ALPN, certificate reload from disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{StatusCode, Version};
use mpbot_webhook::{TlsFiles, Webhook};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use crate::support::{Mode, PATH, SECRET, Server, guard, options, update_json};

/// The host name the test certificates are for (resolved to the listener by the client).
const HOST: &str = "bot.test";

/// A certificate authority made for one test.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    /// A leaf certificate for [`HOST`]: (certificate PEM, key PEM, certificate DER).
    fn leaf(&self) -> (String, String, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![HOST.to_owned()])
            .unwrap()
            .signed_by(&key, &self.issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().to_vec())
    }

    fn root(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.issuer.pem().as_bytes()).unwrap()
    }
}

/// A fresh directory for one test's files.
fn temp_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mpbot-webhook-tls-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Replaces `path` atomically (write a temporary file, rename it over), as certbot does.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A client that trusts only `ca`, resolves [`HOST`] to the listener, opens a new connection
/// per client, and reports the peer certificate.
fn tls_client(ca: &TestCa, server: &Server, http1_only: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .tls_certs_only([ca.root()])
        .resolve(HOST, server.addr)
        .tls_info(true);
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().unwrap()
}

async fn post_tls(client: &reqwest::Client, server: &Server, id: i64) -> reqwest::Response {
    guard(
        client
            .post(format!("https://{HOST}:{}{PATH}", server.addr.port()))
            .header(mpbot_api::SECRET_HEADER, SECRET)
            .body(update_json(id, 5, "tls"))
            .send(),
    )
    .await
    .unwrap()
}

fn served_cert(response: &reqwest::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info with the peer certificate")
        .to_vec()
}

/// Writes a fresh leaf into `dir` and returns the files and the certificate DER.
fn write_leaf(ca: &TestCa, dir: &Path) -> (TlsFiles, Vec<u8>) {
    let (cert, key, der) = ca.leaf();
    let files = TlsFiles::new(dir.join("cert.pem"), dir.join("key.pem"));
    replace(&files.key, &key);
    replace(&files.cert, &cert);
    (files, der)
}

/// Pins HTTPS delivery with a test CA, over HTTP/1.1 and over HTTP/2 chosen by ALPN.
#[tokio::test]
async fn serves_https_over_http1_and_http2_by_alpn() {
    let ca = TestCa::new();
    let dir = temp_dir();
    let (files, der) = write_leaf(&ca, &dir);
    let server = Server::start(options().with_tls(files), Mode::Accept).await;

    let h1 = post_tls(&tls_client(&ca, &server, true), &server, 1).await;
    assert_eq!(h1.status(), StatusCode::OK);
    assert_eq!(h1.version(), Version::HTTP_11);
    assert_eq!(served_cert(&h1), der);
    server.sink.assert_next_is(1).await;

    let h2 = post_tls(&tls_client(&ca, &server, false), &server, 2).await;
    assert_eq!(h2.status(), StatusCode::OK);
    assert_eq!(h2.version(), Version::HTTP_2);
    server.sink.assert_next_is(2).await;

    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Pins the HTTP/2 path's checks: a wrong secret gets 401 over HTTP/2 too.
#[tokio::test]
async fn http2_requests_get_the_same_checks() {
    let ca = TestCa::new();
    let dir = temp_dir();
    let (files, _) = write_leaf(&ca, &dir);
    let server = Server::start(options().with_tls(files), Mode::Accept).await;
    let client = tls_client(&ca, &server, false);
    let url = format!("https://{HOST}:{}{PATH}", server.addr.port());
    let wrong = guard(
        client
            .post(&url)
            .header(mpbot_api::SECRET_HEADER, "wrong")
            .body(update_json(1, 5, "x"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(wrong.version(), Version::HTTP_2);
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let probe = guard(client.post(&url).send()).await.unwrap();
    assert_eq!(probe.status(), StatusCode::OK);
    assert_eq!(post_tls(&client, &server, 2).await.status(), StatusCode::OK);
    server.sink.assert_next_is(2).await;
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Pins certificate reload: after the files are replaced on disk, new handshakes get the new
/// certificate without a restart; a broken replacement keeps the last good one in service.
#[tokio::test]
async fn replaced_certificate_is_served_to_new_handshakes() {
    let ca = TestCa::new();
    let dir = temp_dir();
    let (files, first) = write_leaf(&ca, &dir);
    let server = Server::start(options().with_tls(files.clone()), Mode::Accept).await;

    let before = post_tls(&tls_client(&ca, &server, true), &server, 1).await;
    assert_eq!(served_cert(&before), first);

    let (_, second) = write_leaf(&ca, &dir);
    assert_ne!(first, second);
    let after = post_tls(&tls_client(&ca, &server, true), &server, 2).await;
    assert_eq!(after.status(), StatusCode::OK);
    assert_eq!(served_cert(&after), second);

    // A key that does not belong to the certificate: the previous pair stays in service.
    let (_, other_key, _) = ca.leaf();
    replace(&files.key, &other_key);
    let broken = post_tls(&tls_client(&ca, &server, true), &server, 3).await;
    assert_eq!(broken.status(), StatusCode::OK);
    assert_eq!(served_cert(&broken), second);

    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Pins start-up checks of the TLS files: missing files, garbage, and a key that does not
/// match are TLS errors before anything is served.
#[tokio::test]
async fn bad_tls_files_fail_at_start() {
    let ca = TestCa::new();
    let dir = temp_dir();
    let (files, _) = write_leaf(&ca, &dir);
    let listener = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();

    let missing = TlsFiles::new(dir.join("nope.pem"), files.key.clone());
    let error = Webhook::from_std_listener(listener(), options().with_tls(missing)).unwrap_err();
    assert!(error.is_tls(), "{error}");

    let garbage = dir.join("garbage.pem");
    std::fs::write(&garbage, "not pem").unwrap();
    let error = Webhook::from_std_listener(
        listener(),
        options().with_tls(TlsFiles::new(garbage, files.key.clone())),
    )
    .unwrap_err();
    assert!(error.is_tls(), "{error}");

    let (_, other_key, _) = ca.leaf();
    let mismatched = dir.join("other-key.pem");
    std::fs::write(&mismatched, other_key).unwrap();
    let error = Webhook::from_std_listener(
        listener(),
        options().with_tls(TlsFiles::new(files.cert.clone(), mismatched)),
    )
    .unwrap_err();
    assert!(error.is_tls(), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Pins the handshake timeout: a client that connects to the TLS listener and never starts
/// the handshake is disconnected by the header-read timeout.
#[tokio::test]
async fn silent_tls_client_is_disconnected() {
    let ca = TestCa::new();
    let dir = temp_dir();
    let (files, _) = write_leaf(&ca, &dir);
    let options = options()
        .with_tls(files)
        .with_header_read_timeout(std::time::Duration::from_millis(100));
    let server = Server::start(options, Mode::Accept).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = guard(tokio::io::AsyncReadExt::read(&mut stream, &mut buf)).await;
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "expected a close, got {read:?}"
    );
    server.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
