//! Integration tests: one binary, a real daemon per test.

mod autostart;
mod cacct;
mod core;
mod support;
