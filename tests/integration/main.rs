//! Integration tests: one binary, a real daemon per test.

mod autostart;
mod backfill;
mod cacct;
mod cbatch;
mod ccancel;
mod ccontrol;
mod cinfo;
mod clients;
mod containment;
mod core;
mod cqueue;
mod crash;
mod crun;
mod durability;
mod exporters;
mod generated;
mod gpus;
mod hardening;
mod package;
mod partitions;
mod printing;
mod priority;
mod slurm_json;
mod support;
mod tls;
mod users;
