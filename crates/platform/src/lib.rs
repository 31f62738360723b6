//! The Rounds platform.
