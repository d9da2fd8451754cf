// Process resource limits a server needs raised before it accepts thousands of connections.

#ifndef LOYALTY_RUNTIME_LIMITS_HPP_
#define LOYALTY_RUNTIME_LIMITS_HPP_

#include <cstdint>

namespace loyalty::runtime {

// Raises the soft limit of open files to the hard limit (systemd's LimitNOFILE, or the
// shell's `ulimit -Hn`), as servers do at start: the default soft limit of 1,024 would refuse
// connections long before the memory or the CPU run out. Returns the soft limit now in force.
std::uint64_t raise_open_file_limit();

}  // namespace loyalty::runtime

#endif  // LOYALTY_RUNTIME_LIMITS_HPP_
