//! Integration tests: one binary, a real daemon per test.

mod autostart;
mod ccontrol;
mod cinfo;
mod core;
mod support;
