//! Who is making the current change, so that webhooks name the right `user`.
//!
//! The change detector runs when a state lock that was written through is released
//! (see [`super::StateGuard`]); it reads the actor from a task-local that the request
//! middleware sets for REST calls (from the credentials) and that control actions set for
//! the person they act as. One value per request task: concurrent requests never mix.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::header::{AUTHORIZATION, HOST};
use axum::middleware::Next;
use axum::response::Response;

use super::JiraSandbox;
use super::auth::user_of;

tokio::task_local! {
    static ACTOR: String;
}

/// The actor when nobody set one (changes made from Rust without an actor).
pub const NOBODY: &str = "sandbox";

/// The acting handle of the current task.
pub fn current() -> String {
    ACTOR
        .try_with(Clone::clone)
        .unwrap_or_else(|_| NOBODY.to_owned())
}

/// Runs `f` with `actor` as the acting person (synchronous sections of control actions).
pub fn as_actor<R>(actor: &str, f: impl FnOnce() -> R) -> R {
    ACTOR.sync_scope(actor.to_owned(), f)
}

/// Whether a REST call writes: POST/PUT/DELETE, except searches (POST only to carry JQL).
fn is_write(method: &Method, path: &str) -> bool {
    let writes = matches!(*method, Method::POST | Method::PUT | Method::DELETE);
    writes && !path.ends_with("/search") && !path.ends_with("/search/jql")
}

/// Middleware of the Jira router: remembers the base URL for webhook `self` links, and for
/// REST calls counts writes per caller and runs the handler with the caller as actor.
pub async fn layer(State(sb): State<Arc<JiraSandbox>>, req: Request, next: Next) -> Response {
    if let Some(host) = req.headers().get(HOST).and_then(|h| h.to_str().ok()) {
        sb.hooks.set_base(&format!("http://{host}"));
    }
    let path = req.uri().path().to_owned();
    if !path.starts_with("/rest/") {
        return next.run(req).await;
    }
    let caller = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(user_of);
    let Some(caller) = caller else {
        // The handler's extractor answers 401.
        return next.run(req).await;
    };
    if is_write(req.method(), &path) {
        sb.count_write_by(&caller);
    }
    ACTOR.scope(caller, next.run(req)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_not_writes() {
        assert!(is_write(&Method::POST, "/rest/api/3/issue"));
        assert!(is_write(&Method::PUT, "/rest/api/2/issue/A-1/assignee"));
        assert!(!is_write(&Method::POST, "/rest/api/3/search/jql"));
        assert!(!is_write(&Method::POST, "/rest/api/2/search"));
        assert!(!is_write(&Method::GET, "/rest/api/2/issue/A-1"));
    }

    #[test]
    fn actor_is_scoped() {
        assert_eq!(current(), NOBODY);
        assert_eq!(as_actor("alice", current), "alice");
        assert_eq!(current(), NOBODY);
    }
}
