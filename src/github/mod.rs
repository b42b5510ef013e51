//! GitHub: the REST client (octocrab) and the webhook signature check and event decoding.

pub mod client;
pub mod webhook;
