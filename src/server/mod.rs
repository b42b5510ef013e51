//! The HTTP server: webhook receivers and health endpoints.
