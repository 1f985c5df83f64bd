//! ccancel against a real daemon.
