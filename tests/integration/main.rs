//! Integration tests: one binary, a real daemon per test.

mod autostart;
mod core;
mod generated;
mod support;
