//! Draining a server before it stops: once a stop begins, requests that have not started
//! are refused with 503 (`Retry-After`, `Connection: close`), so a caller is told to go
//! elsewhere instead of finding its connection reset, while the requests already running
//! finish. The listener closes only when none is left running.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::ApiError;

/// Admits requests until [`Gate::drain`] begins; counts those running.
#[derive(Clone, Default)]
pub struct Gate(Arc<Inner>);

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    running: AtomicUsize,
    idle: Notify,
}

/// Decrements the count of running requests when the request ends, however it ends.
struct Running(Gate);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.0.idle.notify_waiters();
        }
    }
}

impl Gate {
    /// Puts the gate in front of every route of `router`.
    pub fn layer(&self, router: axum::Router) -> axum::Router {
        router.layer(middleware::from_fn_with_state(self.clone(), admit))
    }

    /// Refuses requests from now on and resolves once every admitted one has finished.
    pub async fn drain(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
        loop {
            let idle = self.0.idle.notified();
            if self.0.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// Requests admitted and not yet answered.
    pub fn running(&self) -> usize {
        self.0.running.load(Ordering::SeqCst)
    }
}

async fn admit(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    // Count first, then look: a request counted before the drain looked is waited for; one
    // counted after sees the drain and is refused.
    gate.0.running.fetch_add(1, Ordering::SeqCst);
    let running = Running(gate.clone());
    if gate.0.draining.load(Ordering::SeqCst) {
        drop(running);
        let mut refused =
            ApiError::Unavailable("this server is shutting down".into()).into_response();
        refused
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return refused;
    }
    let response = next.run(request).await;
    drop(running);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_drain_waits_for_running_requests_and_refuses_new_ones() {
        use tower::ServiceExt;
        let gate = Gate::default();
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let released = Arc::new(tokio::sync::Mutex::new(Some(released)));
        let router = gate.layer(axum::Router::new().route(
            "/slow",
            axum::routing::get(move || {
                let released = released.clone();
                async move {
                    if let Some(rx) = released.lock().await.take() {
                        let _ = rx.await;
                    }
                    "done"
                }
            }),
        ));
        let running = tokio::spawn(
            router.clone().oneshot(
                Request::get("/slow")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            ),
        );
        while gate.running() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let drained = tokio::spawn({
            let gate = gate.clone();
            async move { gate.drain().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!drained.is_finished(), "a request is still running");
        let refused = router
            .oneshot(
                Request::get("/slow")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(refused.status(), 503);
        assert_eq!(refused.headers()["connection"], "close");
        assert!(refused.headers().contains_key("retry-after"));
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap().unwrap().status(), 200);
        tokio::time::timeout(Duration::from_secs(2), drained)
            .await
            .expect("the drain ends when the request does")
            .unwrap();
    }
}
