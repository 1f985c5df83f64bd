//! Integration tests: one binary, a real daemon per test.

mod autostart;
mod ccancel;
mod core;
mod cqueue;
mod support;
