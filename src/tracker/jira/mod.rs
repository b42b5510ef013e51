//! Jira (Cloud REST v3, Data Center REST v2). Skeleton: owned by the Jira work.
