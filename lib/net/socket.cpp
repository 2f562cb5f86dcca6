// socket.cpp — socket creation and binding (socket.hpp).
#include "net/socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/netfd.hpp"

namespace csp::detail {

int new_socket(int family, int sotype, std::error_code& err) noexcept {
  int fd = ::socket(family, sotype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = sys_error(errno);
    return -1;
  }
  if (sotype == SOCK_DGRAM && family != AF_UNIX) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
  }
  return fd;
}

bound_socket bind_socket(const network& net, std::string_view address, std::error_code& err) {
  sock_addr a;
  int s = -1;
  if (net.is_unix()) {
    a = unix_addr(address, err);
    if (err) return {};
    s = new_socket(AF_UNIX, net.sotype, err);
  } else {
    auto addrs = resolve(net, address, /*passive=*/true, err);
    if (err) return {};
    a = addrs.front();
    s = new_socket(a.family(), net.sotype, err);
    if (s < 0 && a.family() == AF_INET6 && net.family == AF_UNSPEC) {
      // No IPv6 here: an empty host for "tcp"/"udp" falls back to IPv4's
      // any (resolve fails for a v6 literal, which keeps the first error).
      std::error_code e2;
      network v4 = net;
      v4.family = AF_INET;
      auto addrs4 = resolve(v4, address, true, e2);
      if (!e2 && !addrs4.empty()) {
        a = addrs4.front();
        err.clear();
        s = new_socket(AF_INET, net.sotype, err);
      }
    }
  }
  if (s < 0) return {};
  int one = 1;
  if (net.sotype == SOCK_STREAM && !net.is_unix())
    ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as Go: rebind while old conns linger
  if (a.family() == AF_INET6) {
    int v6only = net.family == AF_INET6 ? 1 : 0;  // "tcp"/"udp" on [::] is dual-stack
    ::setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (::bind(s, a.get(), a.len) != 0) {
    err = sys_error(errno);
    ::close(s);
    return {};
  }
  return {s, a.family()};
}

}  // namespace csp::detail
