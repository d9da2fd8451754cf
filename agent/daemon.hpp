// The agent daemon: the composition root that opens the terminal's stores, serves the POS API
// and runs until SIGTERM. One io_context on one thread; SQLite calls run on it (a durable
// append is a few hundred microseconds, within what a lane waits for anyway).
//
// Start: read and check the config, lock the data directory (two agents never share one), load
// or create the terminal key, open the journal and sign what a crash left unsigned, open the
// member cache, install the rulebook file when it is newer than the stored one, listen, log
// {"event":"ready"} and tell systemd READY=1. SIGHUP re-reads the config's log level and token
// and the rulebook file. SIGTERM stops accepting, lets requests in flight finish, and exits 0.

#ifndef LOYALTY_AGENT_DAEMON_HPP_
#define LOYALTY_AGENT_DAEMON_HPP_

#include <filesystem>
#include <iosfwd>

namespace loyalty::agent {

// Runs the daemon with the configuration at `config_path`, logging to `log_stream`. Returns
// the process exit status: 0 after SIGTERM; 78 (EX_CONFIG) when the configuration or a file it
// names is wrong, which a restart cannot mend; 75 (EX_TEMPFAIL) once a disk that made it start
// read-only takes writes again; 1 when it cannot start for another reason (the log says why).
int run_daemon(const std::filesystem::path& config_path, std::ostream& log_stream);

// Checks the configuration and the files it names as `run` would, without opening the data
// directory or listening: prints what it found to `out` and returns 0, or prints what is wrong
// to `err` and returns 78. A rulebook file that `run` would refuse is a warning.
int check_config(const std::filesystem::path& config_path, std::ostream& out, std::ostream& err);

}  // namespace loyalty::agent

#endif  // LOYALTY_AGENT_DAEMON_HPP_
