// socket.hpp — making and binding sockets for listen, listen_packet and
// dial, with the options Go sets on each kind, in one place.
#pragma once

#include <string_view>
#include <system_error>

#include "net/resolve.hpp"

namespace csp::detail {

// new_socket makes a non-blocking, close-on-exec socket; an IPv4/IPv6
// datagram socket also gets SO_BROADCAST (as Go's). -1 and err on failure.
int new_socket(int family, int sotype, std::error_code& err) noexcept;

struct bound_socket {
  int fd = -1;
  int family = 0;
};

// bind_socket makes a socket for net and binds it to a passive address:
// "host:port" (an empty host: every address, dual-stack for "tcp"/"udp";
// the first IPv4 address of a name) or a unix path. A stream socket gets
// SO_REUSEADDR (Go's listener option). fd -1 and err on failure.
bound_socket bind_socket(const network& net, std::string_view address, std::error_code& err);

}  // namespace csp::detail
