//! Conductor: a Slurm-style batch scheduler for one machine.
//!
//! The library holds everything: the API types ([`protocol`]), the client
//! ([`client`]), Slurm's text formats ([`format`]), the command lines and
//! their behaviour ([`cli`]), the daemon ([`daemon`]), and the shell
//! completions and man pages generated from the command lines
//! ([`generated`]). The binaries in `bin/` only parse arguments and print.

pub mod cli;
pub mod client;
pub mod daemon;
pub mod directives;
pub mod error;
pub mod format;
pub mod generated;
pub mod paths;
pub mod protocol;
#[doc(hidden)]
pub mod testing;
pub mod users;

mod process;

pub use client::Client;
pub use error::{Error, Result};
