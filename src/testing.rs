//! What the tests of this crate and its integration tests share and
//! that is more than a test's own set-up: a private PostgreSQL server.
//! Not part of the API.

pub mod postgres;
