//! The one error type of this crate.

use std::time::Duration;

/// A boxed error from a lower layer (reqwest, hyper, serde). Its concrete type and wording are
/// not part of this crate's API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong with a Bot API call.
///
/// It separates "MPChat said no" ([`Error::Api`]) from "we could not talk to MPChat"
/// ([`Error::Transport`]) and "MPChat answered something we cannot read" ([`Error::Decode`]).
/// Ask it questions ([`Error::is_retryable`], [`Error::retry_after`], [`Error::api_code`],
/// [`Error::api_kind`]) instead of matching on its text: the wording is not stable.
///
/// No variant ever holds the bot token: request URLs are stripped from transport errors, and the
/// text of every lower-layer error in the [`source`](std::error::Error::source) chain is copied
/// with the token masked before it is kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// MPChat answered with an error envelope (`{"ok": false, ...}`).
    #[error("{method}: MPChat answered {code}: {description}")]
    Api {
        /// The method called.
        method: String,
        /// `error_code` from the envelope (the HTTP status when the envelope had none).
        code: i64,
        /// `description` from the envelope.
        description: String,
        /// `parameters.retry_after` or the `Retry-After` header, when present.
        retry_after: Option<Duration>,
        /// The HTTP status of the response.
        http_status: u16,
    },
    /// An error HTTP status (4xx/5xx) whose body is not a Bot API envelope: an HTML page from a
    /// proxy or load balancer, say. The queries treat the status as the error code. Unlike an
    /// envelope, it does not prove MPChat did nothing (a 502 may follow a processed request), so
    /// a non-idempotent call is not retried after it (except after a 429).
    #[error("{method}: HTTP {http_status} without a Bot API envelope")]
    Http {
        /// The method called.
        method: String,
        /// The HTTP status.
        http_status: u16,
        /// The `Retry-After` header in whole seconds, when present.
        retry_after: Option<Duration>,
        /// The body as received (lossy UTF-8, cut at 4 KiB).
        body: String,
    },
    /// The request did not complete: connection refused, reset, TLS failure or timeout.
    #[error("{method}: {kind}")]
    Transport {
        /// The method called.
        method: String,
        /// Which kind of failure.
        kind: TransportKind,
        /// The underlying error, with the request URL removed.
        #[source]
        source: BoxError,
    },
    /// The response body was not the expected JSON.
    #[error("{method}: could not decode the response (HTTP {http_status}): {reason}")]
    Decode {
        /// The method called.
        method: String,
        /// The HTTP status of the response.
        http_status: u16,
        /// What did not match.
        reason: String,
        /// The body as received (lossy UTF-8, cut at 4 KiB), to diagnose a schema mismatch.
        raw: String,
    },
    /// A high-risk controlled operation was asked for through the ordinary path; use
    /// [`Bot::high_risk`](crate::Bot::high_risk).
    #[error(
        "{method} is a high-risk controlled operation: call it through the explicit high-risk handle"
    )]
    HighRiskRefused {
        /// The method refused.
        method: String,
    },
    /// The request could not be built (for example, parameters that do not serialize).
    #[error("{method}: invalid request: {reason}")]
    InvalidRequest {
        /// The method called.
        method: String,
        /// Why.
        reason: String,
    },
}

/// The kind of a [`Error::Transport`] failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection could not be made; the request was certainly not processed.
    Connect,
    /// No response in time; the request may or may not have been processed.
    Timeout,
    /// Any other failure after the request may have been sent.
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Connect => "could not connect to the Bot API",
            Self::Timeout => "the Bot API did not answer in time",
            Self::Other => "the request to the Bot API failed",
        })
    }
}

/// The classes of MPChat error codes (protocol notes §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400: bad request, or no conversation with the chat. Fix the input.
    BadRequest,
    /// 401: the token is invalid or revoked.
    Unauthorized,
    /// 403: not enough permission.
    Forbidden,
    /// 404: no such method.
    NotFound,
    /// 409: a webhook is set, or another getUpdates took over.
    Conflict,
    /// 413: request too large.
    PayloadTooLarge,
    /// 429: over 30 requests per second.
    RateLimited,
    /// 500 and other 5xx but 501: a temporary platform problem.
    Server,
    /// 501: the method is not available in this phase of MPChat.
    NotImplemented,
    /// 50001: MPChat's business logic refused the request.
    Business,
    /// Any other code.
    Other,
}

impl ApiErrorKind {
    /// Classifies an `error_code`.
    pub fn from_code(code: i64) -> Self {
        match code {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            413 => Self::PayloadTooLarge,
            429 => Self::RateLimited,
            501 => Self::NotImplemented,
            500..=599 => Self::Server,
            50001 => Self::Business,
            _ => Self::Other,
        }
    }

    /// Whether MPChat's retry table says to retry: 429 and 5xx (but 501).
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Server)
    }
}

impl Error {
    /// The error code MPChat answered, if it answered: `error_code` of an envelope, or the HTTP
    /// status of an error response without one ([`Error::Http`]).
    pub fn api_code(&self) -> Option<i64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            Self::Http { http_status, .. } => Some(i64::from(*http_status)),
            _ => None,
        }
    }

    /// The HTTP status of the response, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Api { http_status, .. }
            | Self::Http { http_status, .. }
            | Self::Decode { http_status, .. } => Some(*http_status),
            _ => None,
        }
    }

    /// MPChat's `description`, when it answered with an error envelope. Show it to a human; never
    /// branch on its text.
    pub fn description(&self) -> Option<&str> {
        match self {
            Self::Api { description, .. } => Some(description),
            _ => None,
        }
    }

    /// The class of MPChat's answer, if it answered with an error.
    pub fn api_kind(&self) -> Option<ApiErrorKind> {
        self.api_code().map(ApiErrorKind::from_code)
    }

    /// How long MPChat asked us to wait, when it did (`retry_after` or `Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api { retry_after, .. } | Self::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the same request may succeed if repeated later: 429, 5xx (but 501) and transport
    /// failures. Whether it is *safe* to repeat is a separate question for non-idempotent
    /// methods; see [`Error::is_definitely_not_done`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { code, .. } => ApiErrorKind::from_code(*code).is_retryable(),
            Self::Http { http_status, .. } => {
                ApiErrorKind::from_code(i64::from(*http_status)).is_retryable()
            }
            Self::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the request certainly had no effect: an error envelope, a 429 status, a
    /// connection that was never made, or a request refused before it was sent. A timeout is
    /// ambiguous (the message may have been sent), and so is a proxy's 5xx page.
    pub fn is_definitely_not_done(&self) -> bool {
        match self {
            Self::Api { .. } | Self::HighRiskRefused { .. } | Self::InvalidRequest { .. } => true,
            Self::Http { http_status, .. } => *http_status == 429,
            Self::Transport { kind, .. } => *kind == TransportKind::Connect,
            Self::Decode { .. } => false,
        }
    }

    /// Whether MPChat's business logic refused the request (50001). Read
    /// [`Error::description`]; it is not retried.
    pub fn is_business(&self) -> bool {
        self.api_kind() == Some(ApiErrorKind::Business)
    }

    /// Whether this is a 429: over the rate limit. [`Error::retry_after`] says how long to wait.
    pub fn is_rate_limited(&self) -> bool {
        self.api_kind() == Some(ApiErrorKind::RateLimited)
    }

    /// Whether the token is invalid or revoked (401).
    pub fn is_unauthorized(&self) -> bool {
        self.api_kind() == Some(ApiErrorKind::Unauthorized)
    }

    /// Whether this is a 409 conflict (a webhook is set, or another poller took over).
    pub fn is_conflict(&self) -> bool {
        self.api_kind() == Some(ApiErrorKind::Conflict)
    }

    /// Whether the method is not available on MPChat right now (501); [`Error::method`] names it.
    pub fn is_not_implemented(&self) -> bool {
        self.api_kind() == Some(ApiErrorKind::NotImplemented)
    }

    /// Whether this was a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        )
    }

    /// The method this error is about.
    pub fn method(&self) -> &str {
        match self {
            Self::Api { method, .. }
            | Self::Http { method, .. }
            | Self::Transport { method, .. }
            | Self::Decode { method, .. }
            | Self::HighRiskRefused { method }
            | Self::InvalidRequest { method, .. } => method,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: i64) -> Error {
        Error::Api {
            method: "sendMessage".into(),
            code,
            description: "x".into(),
            retry_after: None,
            http_status: 400,
        }
    }

    #[test]
    fn retry_table_matches_mpchat() {
        for (code, retryable) in [
            (400, false),
            (401, false),
            (403, false),
            (409, false),
            (429, true),
            (500, true),
            (502, true),
            (503, true),
            (504, true),
            (501, false),
            (50001, false),
        ] {
            assert_eq!(api(code).is_retryable(), retryable, "{code}");
        }
    }
}
