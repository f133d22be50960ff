//! The admin listener: `/healthz`, `/readyz` and `/metrics` on their own address.
//!
//! It runs only when `[admin] listen` is set (or [`App::with_admin_listener`] gives it a
//! socket), never on the webhook's address: the public webhook endpoint exposes nothing but
//! updates. Installing it also installs the Prometheus recorder that the libraries' `metrics`
//! calls report to; without it those calls cost next to nothing. The metric names, the
//! readiness rules and sample alerts are in `docs/operations.md`.
//!
//! [`App::with_admin_listener`]: crate::App::with_admin_listener

mod readiness;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use mpbot_core::{Dispatcher, Shutdown};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use readiness::{Readiness, ReadyState};
pub(crate) use readiness::{SourceProbe, monitor};

/// Histogram buckets (seconds) for every `*_seconds` histogram: handler latency and throttle
/// waits, from 1 ms to 30 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into the rendered buckets between scrapes, so memory
/// stays flat when nobody scrapes.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The process-wide Prometheus handle; `None` when another recorder was installed first.
static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder as the process's `metrics` recorder (once; later calls
/// return the same handle). Returns `None` when some other recorder was installed before, in
/// which case `/metrics` renders nothing of ours and a warning says so.
///
/// The `mpbot` facade calls this when the admin listener is configured; a program that wants
/// mpbot's metrics without the listener (a benchmark, say) may call it itself. Install it
/// before the dispatcher is built: the dispatcher registers its metric handles when built.
pub fn install_prometheus_recorder() -> Option<PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new().set_buckets(BUCKETS) {
                Ok(builder) => builder,
                Err(error) => {
                    tracing::warn!(%error, "invalid histogram buckets; metrics are off");
                    return None;
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(_) => {
                    tracing::warn!(
                        "another metrics recorder is installed; /metrics will not show mpbot's metrics"
                    );
                    None
                }
            }
        })
        .clone()
}

/// Everything the admin listener serves from.
#[derive(Clone)]
pub(crate) struct AdminState {
    /// Renders `/metrics`.
    pub(crate) metrics: Option<PrometheusHandle>,
    /// The dispatcher, for the sampled gauges.
    pub(crate) dispatcher: Dispatcher,
    /// The current readiness.
    pub(crate) readiness: watch::Receiver<ReadyState>,
}

/// A bound admin listener, not serving yet.
#[derive(Debug)]
pub(crate) struct AdminServer {
    listener: TcpListener,
}

impl AdminServer {
    /// Binds `addr`, or adopts an already-bound `listener`.
    pub(crate) async fn bind(
        addr: Option<SocketAddr>,
        listener: Option<std::net::TcpListener>,
    ) -> std::io::Result<Self> {
        let listener = match listener {
            Some(listener) => {
                listener.set_nonblocking(true)?;
                TcpListener::from_std(listener)?
            }
            None => {
                let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9090)));
                TcpListener::bind(addr).await?
            }
        };
        Ok(Self { listener })
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown`; open connections are dropped then.
    pub(crate) async fn serve(self, state: AdminState, shutdown: Shutdown) {
        let mut connections = tokio::task::JoinSet::new();
        let upkeep = state.metrics.clone();
        let mut upkeep_tick = tokio::time::interval(UPKEEP_INTERVAL);
        upkeep_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = upkeep_tick.tick() => {
                    if let Some(handle) = &upkeep {
                        handle.run_upkeep();
                    }
                    continue;
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                () = shutdown.requested() => break,
            };
            let stream = match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::debug!(%error, "admin accept failed");
                    continue;
                }
            };
            let state = state.clone();
            connections.spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(answer(&state, &request)) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(error) = conn.await {
                    tracing::debug!(%error, "admin connection ended with an error");
                }
            });
        }
        connections.shutdown().await;
        tracing::info!("admin listener stopped");
    }
}

/// Answers one admin request.
fn answer(state: &AdminState, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
    }
    match request.uri().path() {
        "/healthz" => json(StatusCode::OK, r#"{"status":"alive"}"#.to_owned()),
        "/readyz" => {
            let current = state.readiness.borrow().clone();
            let status = if current.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let body =
                serde_json::to_string(&current).unwrap_or_else(|_| r#"{"ready":false}"#.to_owned());
            json(status, body)
        }
        "/metrics" => {
            let Some(handle) = &state.metrics else {
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "another metrics recorder is installed in this process\n",
                );
            };
            state.dispatcher.record_gauges();
            let mut response = Response::new(Full::new(Bytes::from(handle.render())));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: /healthz, /readyz, /metrics\n",
        ),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
