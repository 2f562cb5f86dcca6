// resolve.cpp — address parsing and name resolution (resolve.hpp).
#include "net/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include "csp/net.hpp"
#include "csp/runtime.hpp"

namespace csp::detail {

namespace {

// split_host_port splits "host:port", "[v6]:port" and ":port" (Go's
// net.SplitHostPort); false on a malformed address.
bool split_host_port(std::string_view a, std::string_view& host, std::uint16_t& port) noexcept {
  std::string_view port_s;
  if (!a.empty() && a.front() == '[') {
    auto close = a.find(']');
    if (close == std::string_view::npos || close + 1 >= a.size() || a[close + 1] != ':') return false;
    host = a.substr(1, close - 1);
    port_s = a.substr(close + 2);
  } else {
    auto colon = a.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = a.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return false;  // a v6 address needs brackets
    port_s = a.substr(colon + 1);
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), v);
  if (port_s.empty() || ec != std::errc{} || end != port_s.data() + port_s.size() || v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

sock_addr make_v4(const in_addr& a, std::uint16_t port) noexcept {
  sock_addr r;
  auto* in = reinterpret_cast<sockaddr_in*>(&r.ss);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  in->sin_addr = a;
  r.len = sizeof(sockaddr_in);
  return r;
}

sock_addr make_v6(const in6_addr& a, std::uint16_t port) noexcept {
  sock_addr r;
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&r.ss);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  in6->sin6_addr = a;
  r.len = sizeof(sockaddr_in6);
  return r;
}

// lookup runs getaddrinfo; on a helper thread when called from a goroutine.
std::vector<sock_addr> lookup(int family, const std::string& host, std::uint16_t port, std::error_code& err) {
  return runtime::blocking([&] {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::vector<sock_addr> out;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
      err = net::errc::no_such_host;
      return out;
    }
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET)
        out.push_back(make_v4(reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, port));
      else if (ai->ai_family == AF_INET6)
        out.push_back(make_v6(reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, port));
    }
    ::freeaddrinfo(res);
    if (out.empty()) err = net::errc::no_such_host;
    return out;
  });
}

}  // namespace

int network_family(std::string_view network) noexcept {
  if (network == "tcp") return AF_UNSPEC;
  if (network == "tcp4") return AF_INET;
  if (network == "tcp6") return AF_INET6;
  return -1;
}

std::vector<sock_addr> resolve(int family, std::string_view address, bool passive, std::error_code& err) {
  std::string_view host;
  std::uint16_t port = 0;
  if (!split_host_port(address, host, port)) {
    err = net::errc::invalid_address;
    return {};
  }
  std::vector<sock_addr> out;
  if (host.empty()) {
    if (passive) {
      if (family == AF_INET) out.push_back(make_v4(in_addr{htonl(INADDR_ANY)}, port));
      else out.push_back(make_v6(in6addr_any, port));
    } else {
      if (family != AF_INET6) out.push_back(make_v4(in_addr{htonl(INADDR_LOOPBACK)}, port));
      if (family != AF_INET) out.push_back(make_v6(in6addr_loopback, port));
    }
    return out;
  }
  std::string h(host);
  in_addr a4;
  in6_addr a6;
  if (::inet_pton(AF_INET, h.c_str(), &a4) == 1) {
    if (family == AF_INET6) {
      err = net::errc::invalid_address;  // Go: "no suitable address"
      return {};
    }
    out.push_back(make_v4(a4, port));
    return out;
  }
  if (::inet_pton(AF_INET6, h.c_str(), &a6) == 1) {
    if (family == AF_INET) {
      err = net::errc::invalid_address;
      return {};
    }
    out.push_back(make_v6(a6, port));
    return out;
  }
  out = lookup(family, h, port, err);
  if (passive && out.size() > 1) {
    // Listen on one address, IPv4 first (as Go's favoriteAddrFamily for
    // "tcp"): "localhost:0" then works for IPv4-only clients.
    for (auto& c : out)
      if (c.family() == AF_INET) return {c};
    out.resize(1);
  }
  return out;
}

}  // namespace csp::detail
