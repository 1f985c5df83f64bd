# /etc/profile.d/conductor.sh: login shells reach the system daemon
# (conductord --system, contrib/systemd/conductord.service) while it serves
# its socket. The clients' own default is a per-user daemon, which they
# start themselves: without this, users of a machine with a system daemon
# would each get a daemon of their own. A CONDUCTOR_SERVER already set is
# left as it is, and without the socket nothing changes.
if [ -z "${CONDUCTOR_SERVER:-}" ] && [ -S /run/conductor/conductord.sock ]; then
    CONDUCTOR_SERVER=unix:/run/conductor/conductord.sock
    export CONDUCTOR_SERVER
fi
