// resolve.hpp — from a network name and an address string to socket
// addresses. Numeric hosts and ports are parsed in place; host names go to
// getaddrinfo and service names to getservbyname_r, both on a
// runtime::blocking helper (they block their thread, so never on a
// worker). Unix paths become sockaddr_un in place.
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

// network: what a network name means. name is the canonical name an
// address of it reports ("udp" for "udp4" too, as Go's UDPAddr.Network).
struct network {
  int family = -1;  // AF_UNSPEC ("tcp", "udp"), AF_INET, AF_INET6, AF_UNIX; -1: unknown
  int sotype = 0;   // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  const char* name = "";
  bool known() const noexcept { return family != -1; }
  bool is_unix() const noexcept;
};

// parse_network: "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix",
// "unixgram", "unixpacket"; !known() for anything else.
network parse_network(std::string_view name) noexcept;

// resolve turns "host:port" into candidates in the order to try. `passive`
// (listen): an empty host is every local address ("::" for AF_UNSPEC, where
// the listener is made dual-stack); for dial an empty host is loopback. A
// port may be a service name, looked up for net's protocol (tcp or udp).
// Errors: net::errc::invalid_address, no_such_host, unknown_port.
std::vector<sock_addr> resolve(const network& net, std::string_view address, bool passive, std::error_code& err);

// unix_addr makes a unix socket address from a path ("@name": abstract).
// Empty: net::errc::invalid_address (Go's "missing address"); longer than
// sun_path allows (107 bytes, 108 for an abstract name):
// std::errc::invalid_argument, as Go's EINVAL.
sock_addr unix_addr(std::string_view path, std::error_code& err);

}  // namespace csp::detail
