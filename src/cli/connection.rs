//! The flag every client binary shares: which daemon to talk to.

use crate::client::Client;
use crate::error::Result;

/// `--server`, flattened into each client's arguments.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Connection {
    /// Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]
    #[arg(long, value_name = "ADDRESS")]
    pub server: Option<String>,
}

impl Connection {
    /// A client for the daemon named, else `$CONDUCTOR_SERVER`, else the
    /// per-user default socket ([`Client::new`]).
    pub fn client(&self) -> Result<Client> {
        Client::new(self.server.as_deref())
    }
}
