//! The HTTP side: accept loop, per-connection hardening, and the request handler.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use mpbot_core::{Delivered, UpdateSink};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::WebhookHealth;
use crate::secret::SecretCheck;
use crate::signal::{Signal, Stage};

/// The response body type: every answer is small and complete.
type ResBody = Full<Bytes>;

/// Everything the request handler needs, shared by all connections.
pub(crate) struct Shared {
    /// The only path served.
    pub(crate) path: String,
    /// The secret check, `None` when explicitly allowed to run without one.
    pub(crate) secret: Option<SecretCheck>,
    /// Largest body accepted.
    pub(crate) max_body_bytes: usize,
    /// Time allowed for reading a body.
    pub(crate) body_read_timeout: Duration,
    /// Answer 200 after this long under `handled`.
    pub(crate) ack_deadline: Option<Duration>,
    /// `Retry-After` for 503.
    pub(crate) retry_after: HeaderValue,
    /// Where updates go.
    pub(crate) sink: UpdateSink,
    /// Last accepted update, serving flag.
    pub(crate) health: WebhookHealth,
    /// The shutdown stage: once draining, new requests get 503 and connections close; once
    /// forced, connections are dropped.
    pub(crate) stop: Arc<Signal>,
}

/// Limits of the connection layer.
pub(crate) struct ConnLimits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) connection_limit: usize,
}

/// Serves until the stop signal says draining, then waits up to `grace` for open connections to
/// finish their in-flight requests, then drops whatever is left.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    limits: ConnLimits,
    grace: Duration,
) {
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new()).max_concurrent_streams(256);
    let builder = Arc::new(Builders { h1, h2 });
    let permits = Arc::new(Semaphore::new(limits.connection_limit));
    let tracker = TaskTracker::new();
    let mut draining = shared.stop.watch();
    // hyper's header-read timer also covers an idle HTTP/1.1 connection (see `serve_conn`).
    let h1_idle_timer = limits.idle_timeout < limits.header_read_timeout;
    let limits = Arc::new(limits);

    loop {
        // NB: the permit is taken before accept, so at the limit the listener stops accepting
        // and further clients wait in the kernel backlog instead of costing a task each.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = &mut draining => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Per-connection errors (reset before accept) and resource exhaustion
                    // (EMFILE) are not fatal; a short pause keeps EMFILE from spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                        _ = &mut draining => break,
                    }
                    continue;
                }
            },
            _ = &mut draining => break,
        };
        // Small request/response exchanges: send each answer at once.
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let builder = builder.clone();
        let limits = limits.clone();
        let tls = tls.clone();
        tracker.spawn(async move {
            let _permit = permit;
            match tls {
                None => {
                    let (activity, service) = service(shared.clone());
                    let conn = builder.h1.serve_connection(TokioIo::new(stream), service);
                    serve_conn(conn, activity, peer, &shared, &limits, h1_idle_timer).await;
                }
                Some(acceptor) => {
                    // NB: boxed, so a plain connection's task is not sized for the TLS state
                    // (1.7 KiB instead of 7 KiB per connection).
                    Box::pin(async move {
                        let handshake = tokio::time::timeout(
                            limits.header_read_timeout,
                            acceptor.accept(stream),
                        );
                        let tls_stream = tokio::select! {
                            result = handshake => match result {
                                Ok(Ok(tls_stream)) => tls_stream,
                                Ok(Err(error)) => {
                                    tracing::debug!(%peer, %error, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            },
                            _ = &mut shared.stop.watch() => return,
                        };
                        let (activity, service) = service(shared.clone());
                        if tls_stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                            let io = TokioIo::new(tls_stream);
                            let conn = builder.h2.serve_connection(io, service);
                            serve_conn(conn, activity, peer, &shared, &limits, true).await;
                        } else {
                            let io = TokioIo::new(tls_stream);
                            let conn = builder.h1.serve_connection(io, service);
                            serve_conn(conn, activity, peer, &shared, &limits, h1_idle_timer).await;
                        }
                    })
                    .await;
                }
            }
        });
    }
    // Stop accepting: the listener closes here, so new connections are refused by the kernel.
    drop(listener);
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            open = tracker.len(),
            "shutdown grace ran out; closing the remaining connections"
        );
        shared.stop.raise(Stage::Forced);
        tracker.wait().await;
    }
}

/// When a connection last finished a request and how many it has in flight, for the idle
/// timeout.
struct Activity {
    /// The connection's start; `last_ms` counts from here.
    start: Instant,
    /// Milliseconds from `start` to the end of the last request (or the start).
    last_ms: AtomicU64,
    /// Requests currently being handled.
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn begin(self: &Arc<Self>) -> ActivityGuard {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        ActivityGuard(self.clone())
    }

    /// When the connection counts as idle if nothing happens before.
    fn idle_deadline(&self, idle: Duration) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Acquire)) + idle
    }

    /// When to look again: the idle deadline, or, while a request is in flight (which may
    /// outlast the deadline), one idle period from now, so the check never spins.
    fn next_check(&self, idle: Duration) -> Instant {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            Instant::now() + idle
        } else {
            self.idle_deadline(idle)
        }
    }

    fn is_idle(&self, idle: Duration) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0 && Instant::now() >= self.idle_deadline(idle)
    }
}

/// Marks a request finished when dropped (also when hyper drops the handler because the
/// client went away).
struct ActivityGuard(Arc<Activity>);

impl Drop for ActivityGuard {
    fn drop(&mut self) {
        let ms = u64::try_from(self.0.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_ms.store(ms, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection builders, configured once.
struct Builders {
    /// HTTP/1.1: plain connections and TLS without ALPN `h2`.
    h1: http1::Builder,
    /// HTTP/2: TLS connections that chose `h2` by ALPN.
    h2: http2::Builder<TokioExecutor>,
}

/// The request handler of one connection, and its activity record for the idle timeout.
#[expect(
    clippy::type_complexity,
    reason = "the service's future is unnameable without boxing it once per request"
)]
fn service(
    shared: Arc<Shared>,
) -> (
    Arc<Activity>,
    impl hyper::service::Service<
        Request<Incoming>,
        Response = Response<ResBody>,
        Error = Infallible,
        Future = impl Future<Output = Result<Response<ResBody>, Infallible>> + Send,
    > + Clone
    + Send
    + 'static,
) {
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        hyper::service::service_fn(move |request| {
            let shared = shared.clone();
            let guard = activity.begin();
            async move {
                let response = handle(&shared, request).await;
                record_status(response.status());
                drop(guard);
                Ok::<_, Infallible>(response)
            }
        })
    };
    (activity, service)
}

/// Serves one connection until it closes, goes idle, or shutdown ends it.
///
/// `idle_timer` says whether this task has to watch the idle timeout itself: an HTTP/1.1
/// connection waiting for its next request is already under hyper's header-read timer (it
/// starts as soon as the connection waits for a request head), so a separate idle timer only
/// matters when it is the shorter one; HTTP/2 always needs it.
async fn serve_conn<C>(
    conn: C,
    activity: Arc<Activity>,
    peer: SocketAddr,
    shared: &Shared,
    limits: &ConnLimits,
    idle_timer: bool,
) where
    C: GracefulConnection,
    C::Error: std::fmt::Display,
{
    let mut stop = shared.stop.watch();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let idle_at = activity.next_check(limits.idle_timeout);
        // NB: biased: the connection is polled first and no random number is drawn per wake;
        // the other branches are cheap atomic checks.
        tokio::select! {
            biased;
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            stage = &mut stop => match stage {
                Stage::Forced => return,
                Stage::Draining if !closing => {
                    // HTTP/1: finish the request in flight, then close; HTTP/2: GOAWAY.
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                Stage::Draining | Stage::Running => {}
            },
            () = tokio::time::sleep_until(idle_at), if idle_timer && !closing => {
                if activity.is_idle(limits.idle_timeout) {
                    tracing::debug!(%peer, "closing idle connection");
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Counts one answer in `mpbot_webhook_responses_total{status}`. The label set is the fixed
/// set of statuses [`handle`] answers with, so no allocation happens per request.
fn record_status(status: StatusCode) {
    let label = match status.as_u16() {
        200 => "200",
        400 => "400",
        401 => "401",
        404 => "404",
        405 => "405",
        408 => "408",
        413 => "413",
        500 => "500",
        503 => "503",
        _ => "other",
    };
    metrics::counter!("mpbot_webhook_responses_total", "status" => label).increment(1);
}

fn response(status: StatusCode, text: &'static str) -> Response<ResBody> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    if !text.is_empty() {
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response
}

fn unavailable(shared: &Shared) -> Response<ResBody> {
    let mut response = response(StatusCode::SERVICE_UNAVAILABLE, "try again later\n");
    response
        .headers_mut()
        .insert(RETRY_AFTER, shared.retry_after.clone());
    response
}

/// Answers one request. The order of the checks is part of the contract (see the crate docs):
/// shutdown, path, method, the probe rule, the secret, the declared size, then the body.
pub(crate) async fn handle<B>(shared: &Shared, request: Request<B>) -> Response<ResBody>
where
    B: Body + Send + Unpin,
    B::Data: Send,
    B::Error: Into<mpbot_api::BoxError>,
{
    if shared.stop.is_draining() {
        return unavailable(shared);
    }
    if request.uri().path() != shared.path {
        return response(StatusCode::NOT_FOUND, "not found\n");
    }
    if request.method() != Method::POST {
        let mut response = response(StatusCode::METHOD_NOT_ALLOWED, "POST only\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let (parts, body) = request.into_parts();
    let hint = body.size_hint();
    // The probe rule: an empty body (Content-Length: 0, or no body at all) carries no update,
    // so it is answered 200 whatever the headers: MPChat's probe may lack the secret.
    if body.is_end_stream() || hint.upper() == Some(0) {
        tracing::debug!("empty request answered 200 (reachability probe)");
        return response(StatusCode::OK, "");
    }
    if let Some(check) = &shared.secret {
        // NB: the header's value is never logged, only whether it was there.
        let presented = parts.headers.get(mpbot_api::SECRET_HEADER);
        if !presented.is_some_and(|value| check.matches(value.as_bytes())) {
            tracing::debug!(
                header_present = presented.is_some(),
                "request without the right secret answered 401"
            );
            return response(StatusCode::UNAUTHORIZED, "unauthorized\n");
        }
    }
    let limit = shared.max_body_bytes;
    if hint.lower() > limit as u64 {
        tracing::debug!(
            declared = hint.lower(),
            limit,
            "body larger than the limit answered 413"
        );
        return response(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n");
    }
    let mut collect = std::pin::pin!(Limited::new(body, limit).collect());
    // A small update usually arrives with its headers, so the body is already complete: one
    // poll takes it without arming a timer. Only a body still on its way gets the timeout.
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(collect.as_mut().poll(cx))).await;
    let read = match first {
        std::task::Poll::Ready(collected) => Ok(collected),
        std::task::Poll::Pending => {
            tokio::time::timeout(shared.body_read_timeout, collect.as_mut()).await
        }
    };
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            tracing::debug!(limit, "streamed body exceeded the limit; answered 413");
            return response(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n");
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "reading the body failed");
            return response(StatusCode::BAD_REQUEST, "unreadable body\n");
        }
        Err(_) => {
            tracing::debug!("body not received within body_read_timeout; answered 408");
            return response(StatusCode::REQUEST_TIMEOUT, "body read timeout\n");
        }
    };
    if bytes.is_empty() {
        tracing::debug!("empty streamed body answered 200 (reachability probe)");
        return response(StatusCode::OK, "");
    }
    let update = match serde_json::from_slice::<mpbot_api::Update>(&bytes) {
        Ok(update) => update,
        Err(error) => {
            // NB: serde_json's message can quote the input; log only where and what kind.
            tracing::warn!(
                size = bytes.len(),
                category = ?error.classify(),
                line = error.line(),
                column = error.column(),
                "body is not a valid update; answered 400"
            );
            return response(StatusCode::BAD_REQUEST, "not an update\n");
        }
    };
    // NB: the body is a slice of the connection's read buffer; holding it (or the headers)
    // while the sink works would pin that buffer and make hyper allocate a new one for the
    // next read. Under `handled` that is one buffer per in-flight request.
    drop(bytes);
    drop(parts);
    deliver(shared, update).await
}

/// Hands the update to the sink and turns its verdict into the answer.
async fn deliver(shared: &Shared, update: mpbot_api::Update) -> Response<ResBody> {
    let update_id = update.update_id;
    let result = match shared.ack_deadline {
        None => shared.sink.deliver(update).await,
        Some(deadline) => {
            let sink = shared.sink.clone();
            let mut delivery = Box::pin(async move { sink.deliver(update).await });
            match tokio::time::timeout(deadline, &mut delivery).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        %update_id,
                        "ack deadline passed: answering 200 and letting the handlers finish"
                    );
                    finish_detached(update_id, delivery);
                    shared.health.record_update();
                    return response(StatusCode::OK, "");
                }
            }
        }
    };
    match result {
        Ok(verdict) => {
            shared.health.record_update();
            if verdict == Delivered::Duplicate {
                tracing::debug!(%update_id, "duplicate update acknowledged");
            }
            response(StatusCode::OK, "")
        }
        Err(refused) => {
            tracing::debug!(%update_id, %refused, "sink refused the update; answered 503");
            unavailable(shared)
        }
    }
}

/// Lets a delivery that outlived the ack deadline finish; reports what became of it.
fn finish_detached<F>(update_id: mpbot_api::UpdateId, delivery: F)
where
    F: Future<Output = Result<Delivered, mpbot_core::Refused>> + Send + 'static,
{
    tokio::spawn(async move {
        match delivery.await {
            Ok(_) => tracing::debug!(%update_id, "update finished after its ack deadline"),
            Err(refused) => tracing::error!(
                %update_id,
                %refused,
                "update acknowledged at its ack deadline was then refused by the sink; it is lost"
            ),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpbot_core::{Deliver, Refused, async_trait};

    /// A sink that must never be reached.
    struct Unreachable;

    #[async_trait]
    impl Deliver for Unreachable {
        async fn deliver(&self, update: mpbot_api::Update) -> Result<Delivered, Refused> {
            panic!("update {} reached the sink", update.update_id);
        }
        fn free_capacity(&self) -> usize {
            0
        }
        async fn wait_for_capacity(&self) {}
    }

    fn shared() -> Shared {
        Shared {
            path: "/hook".into(),
            secret: None,
            max_body_bytes: 1024,
            body_read_timeout: Duration::from_secs(1),
            ack_deadline: None,
            retry_after: HeaderValue::from_static("2"),
            sink: UpdateSink::new(Unreachable),
            health: WebhookHealth::default(),
            stop: Arc::new(Signal::default()),
        }
    }

    fn request(body: &'static str) -> Request<Full<Bytes>> {
        Request::post("/hook")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    }

    /// Pins that once shutdown began, a request that still arrives on an open connection gets
    /// 503 with Retry-After and never reaches the sink.
    #[tokio::test]
    async fn draining_answers_503_without_delivering() {
        let shared = shared();
        shared.stop.raise(Stage::Draining);
        let response = handle(&shared, request(r#"{"update_id":1}"#)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "2");
    }

    /// Pins the order of checks for requests that fail several of them at once.
    #[tokio::test]
    async fn first_failing_check_decides() {
        let mut shared = shared();
        shared.secret = Some(SecretCheck::new(&crate::WebhookSecret::new("s")));
        let cases: Vec<(Request<Full<Bytes>>, StatusCode)> = vec![
            // Wrong path and wrong method: 404 first.
            (
                Request::get("/other").body(Full::default()).unwrap(),
                StatusCode::NOT_FOUND,
            ),
            // Wrong method and no secret: 405 first.
            (
                Request::put("/hook")
                    .body(Full::new(Bytes::from_static(b"{}")))
                    .unwrap(),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            // Empty body without the secret: the probe rule wins.
            (request(""), StatusCode::OK),
            // A body without the secret: 401 before the body is judged.
            (request("not json"), StatusCode::UNAUTHORIZED),
        ];
        for (request, status) in cases {
            let uri = request.uri().clone();
            assert_eq!(handle(&shared, request).await.status(), status, "{uri}");
        }
    }

    /// Pins the idle bookkeeping: idle after `idle` without requests, never while one is in
    /// flight, and the next check never lies in the past while busy (no spinning).
    #[tokio::test(start_paused = true)]
    async fn idle_timer_counts_from_the_last_request() {
        let idle = Duration::from_secs(10);
        let activity = Arc::new(Activity::new());
        assert!(!activity.is_idle(idle));
        tokio::time::advance(idle).await;
        assert!(activity.is_idle(idle));

        let guard = activity.begin();
        tokio::time::advance(idle * 3).await;
        assert!(!activity.is_idle(idle));
        assert!(activity.next_check(idle) > Instant::now());
        drop(guard);
        assert!(!activity.is_idle(idle));
        assert_eq!(activity.next_check(idle), activity.idle_deadline(idle));
        tokio::time::advance(idle).await;
        assert!(activity.is_idle(idle));
    }
}
