// packet.cpp — net::packet_conn (Go's net.PacketConn) and listen_packet.
// The socket work is netfd's.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "csp/net.hpp"
#include "net/netfd.hpp"
#include "net/resolve.hpp"
#include "net/socket.hpp"

namespace csp::net {

namespace {

using detail::deadline_ns;
using detail::read_bit;
using detail::write_bit;


// to_family rewrites a's IPv4 address as IPv4-mapped IPv6 for a
// dual-stack socket, and an IPv4-mapped one back to IPv4 for an IPv4
// socket (as Go's ipToSockaddr); anything else is left to the kernel.
detail::sock_addr to_family(const addr& a, int family) noexcept {
  detail::sock_addr out;
  out.len = static_cast<socklen_t>(a.size());
  std::memcpy(&out.ss, a.sockaddr(), a.size());
  if (family == AF_INET6 && out.family() == AF_INET) {
    auto in = *reinterpret_cast<const sockaddr_in*>(&out.ss);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.ss);
    *in6 = sockaddr_in6{};
    in6->sin6_family = AF_INET6;
    in6->sin6_port = in.sin_port;
    in6->sin6_addr.s6_addr[10] = 0xff;
    in6->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&in6->sin6_addr.s6_addr[12], &in.sin_addr, 4);
    out.len = sizeof(sockaddr_in6);
  } else if (family == AF_INET && out.family() == AF_INET6) {
    auto in6 = *reinterpret_cast<const sockaddr_in6*>(&out.ss);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      auto* in = reinterpret_cast<sockaddr_in*>(&out.ss);
      *in = sockaddr_in{};
      in->sin_family = AF_INET;
      in->sin_port = in6.sin6_port;
      std::memcpy(&in->sin_addr, &in6.sin6_addr.s6_addr[12], 4);
      out.len = sizeof(sockaddr_in);
    }
  }
  return out;
}

}  // namespace

read_from_result packet_conn::read_from(std::span<std::byte> buf) const {
  if (!fd_) return {0, {}, errc::closed};
  sockaddr_storage from;
  socklen_t len = 0;
  auto [n, err] = fd_->read_from(buf, from, len);
  if (err) return {0, {}, err};
  return {n, addr::from_sockaddr(&from, len, fd_->family() == AF_UNIX ? "unixgram" : "udp"), {}};
}

read_from_result packet_conn::read_from(std::span<char> buf) const { return read_from(std::as_writable_bytes(buf)); }

io_result packet_conn::write_to(std::span<const std::byte> buf, const addr& a) const {
  if (!fd_) return {0, errc::closed};
  if (!a) return {0, errc::invalid_address};  // Go's errMissingAddress
  detail::sock_addr to = to_family(a, fd_->family());
  return fd_->write_to(buf, to.get(), to.len);
}

io_result packet_conn::write_to(std::string_view s, const addr& a) const {
  return write_to(std::as_bytes(std::span<const char>(s)), a);
}

std::error_code packet_conn::close() const { return fd_ ? fd_->close() : make_error_code(errc::closed); }

std::error_code packet_conn::set_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(deadline_ns(t), read_bit | write_bit) : make_error_code(errc::closed);
}

std::error_code packet_conn::set_read_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(deadline_ns(t), read_bit) : make_error_code(errc::closed);
}

std::error_code packet_conn::set_write_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(deadline_ns(t), write_bit) : make_error_code(errc::closed);
}

std::string packet_conn::local_addr() const { return fd_ ? fd_->local() : std::string(); }

listen_packet_result listen_packet(std::string_view network, std::string_view address) {
  detail::network net = detail::parse_network(network);
  if (!net.known() || net.sotype != SOCK_DGRAM) return {{}, errc::unknown_network};
  std::error_code err;
  detail::bound_socket b = detail::bind_socket(net, address, err);
  if (b.fd < 0) return {{}, err};
  auto fd = detail::netfd::open(b.fd, b.family, SOCK_DGRAM, err);
  if (!fd) return {{}, err};
  return {packet_conn(std::move(fd)), {}};
}

}  // namespace csp::net
