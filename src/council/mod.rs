//! The council's state machine: pure decisions, no I/O.
