//! Handlers: user code the router calls, erased once at registration.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use mpbot_api::Update;

use crate::Context;

/// The error a handler may return: any error type, boxed. The dispatcher logs and counts it; it
/// never stops the bot.
pub type HandlerError = mpbot_api::BoxError;

/// What a handler returns.
pub type HandlerResult = Result<(), HandlerError>;

/// A boxed, `Send` future, the shape erased handlers return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that handles events of type `E`: any `async fn(Context, E) -> Result<(), Err>`
/// or closure returning such a future, where `Err` converts into [`HandlerError`].
///
/// You do not implement it: the blanket implementation covers functions and closures. A handler
/// that needs state captures it (an `Arc` moved into a closure).
pub trait Handler<E>: Send + Sync + 'static {
    /// Calls the handler.
    fn call(&self, ctx: Context, event: E) -> BoxFuture<'static, HandlerResult>;
}

impl<F, Fut, E, Err> Handler<E> for F
where
    F: Fn(Context, E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Err>> + Send + 'static,
    Err: Into<HandlerError>,
{
    fn call(&self, ctx: Context, event: E) -> BoxFuture<'static, HandlerResult> {
        let future = self(ctx, event);
        Box::pin(async move { future.await.map_err(Into::into) })
    }
}

/// A handler with its event type erased: it takes the whole update and extracts its event.
pub(crate) trait ErasedHandler: Send + Sync + 'static {
    /// Extracts the event from `update` and calls the handler.
    fn call(&self, ctx: Context, update: Update) -> BoxFuture<'static, HandlerResult>;
}

/// Turns an update into the event a typed handler wants. `None` means the update is not of
/// the kind the route was registered for, which the router rules out; it is reported as an
/// error rather than a panic.
pub(crate) type Extract<E> = fn(Update, &Context) -> Option<E>;

/// A typed handler plus the function that extracts its event.
struct Typed<H, E> {
    /// The user's handler.
    handler: H,
    /// Makes its event.
    extract: Extract<E>,
    /// `fn() -> E` keeps `Typed` `Send + Sync` whatever `E` is.
    _event: PhantomData<fn() -> E>,
}

impl<H, E> ErasedHandler for Typed<H, E>
where
    H: Handler<E>,
    E: Send + 'static,
{
    fn call(&self, ctx: Context, update: Update) -> BoxFuture<'static, HandlerResult> {
        match (self.extract)(update, &ctx) {
            Some(event) => self.handler.call(ctx, event),
            None => Box::pin(async {
                Err(HandlerError::from(
                    "the update does not carry the event this handler was registered for",
                ))
            }),
        }
    }
}

/// Erases a typed handler: done once, at registration.
pub(crate) fn erase<H, E>(handler: H, extract: Extract<E>) -> Arc<dyn ErasedHandler>
where
    H: Handler<E>,
    E: Send + 'static,
{
    Arc::new(Typed {
        handler,
        extract,
        _event: PhantomData,
    })
}
