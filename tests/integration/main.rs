//! Integration tests: one binary, a real daemon per test.

mod autostart;
mod cacct;
mod cbatch;
mod core;
mod crun;
mod generated;
mod support;
