// resolve.hpp — from "host:port" and a network name to socket addresses.
// Numeric hosts are parsed in place; names go to getaddrinfo on a
// runtime::blocking helper (it blocks its thread, so never on a worker).
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace csp::detail {

struct sock_addr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const noexcept { return ss.ss_family; }
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&ss); }
};

// network_family: AF_UNSPEC for "tcp", AF_INET for "tcp4", AF_INET6 for
// "tcp6"; -1 for anything else.
int network_family(std::string_view network) noexcept;

// resolve turns address into candidates in the order to try. `passive`
// (listen): an empty host is every local address ("::" for AF_UNSPEC, where
// the listener is made dual-stack); for dial an empty host is loopback.
// Errors: net::errc::invalid_address, no_such_host.
std::vector<sock_addr> resolve(int family, std::string_view address, bool passive, std::error_code& err);

}  // namespace csp::detail
