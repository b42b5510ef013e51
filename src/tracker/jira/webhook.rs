//! Jira webhook bodies (no official schema: see ../shared/specs/JIRA-WEBHOOKS.md).
