//! Incoming GitHub webhooks: the signature check and the decoding of the events we act on.

pub mod events;
pub mod signature;

#[cfg(test)]
pub(crate) mod fixtures;

pub use events::{
    CommentAction, DecodeError, GithubEvent, IssueCommentEvent, IssuesAction, IssuesEvent, Routed,
    Transfer, WebhookIssue, decode, decode_routed,
};
pub use signature::SignatureError;
