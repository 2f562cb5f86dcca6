// resolve.cpp — address parsing and name resolution (resolve.hpp).
#include "net/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <span>
#include <utility>

#include "csp/net.hpp"
#include "csp/runtime.hpp"

namespace csp::detail {

namespace {

// split_host_port splits "host:port", "[v6]:port" and ":port" (Go's
// net.SplitHostPort); false on a malformed address.
bool split_host_port(std::string_view a, std::string_view& host, std::string_view& port_s) noexcept {
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
  return !port_s.empty();
}

// Go's built-in services (net/port_unix.go's table), for a machine
// without /etc/services or without these entries in it.
constexpr std::pair<const char*, std::uint16_t> tcp_services[] = {
    {"ftp", 21},     {"ftps", 990},  {"gopher", 70}, {"http", 80},        {"https", 443}, {"imap2", 143},
    {"imap3", 220},  {"imaps", 993}, {"pop3", 110},  {"pop3s", 995},      {"smtp", 25},   {"submissions", 465},
    {"ssh", 22},     {"telnet", 23},
};
constexpr std::pair<const char*, std::uint16_t> udp_services[] = {{"domain", 53}};

// lookup_port resolves a service name for proto ("tcp" or "udp"), as Go's
// LookupPort: case-insensitive, /etc/services (getservbyname_r, on a
// helper: it reads a file) then Go's table.
bool lookup_port(const char* proto, std::string_view service, std::uint16_t& port) {
  std::string name(service);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int found = runtime::blocking([&] {
    servent se{}, *res = nullptr;
    std::array<char, 4096> buf;
    if (::getservbyname_r(name.c_str(), proto, &se, buf.data(), buf.size(), &res) == 0 && res != nullptr)
      return static_cast<int>(ntohs(static_cast<std::uint16_t>(res->s_port)));
    return -1;
  });
  if (found >= 0) {
    port = static_cast<std::uint16_t>(found);
    return true;
  }
  bool tcp = std::strcmp(proto, "tcp") == 0;
  using table = std::span<const std::pair<const char*, std::uint16_t>>;
  for (auto [n, p] : tcp ? table(tcp_services) : table(udp_services)) {
    if (name == n) {
      port = p;
      return true;
    }
  }
  return false;
}

// parse_port: a decimal port (at most 65535), else a service name for
// proto. Errors: invalid_address, unknown_port.
bool parse_port(std::string_view s, const char* proto, std::uint16_t& port, std::error_code& err) {
  bool digits = true;
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v > 65535) {
      err = net::errc::invalid_address;
      return false;
    }
    port = static_cast<std::uint16_t>(v);
    return true;
  }
  if (!lookup_port(proto, s, port)) {
    err = net::errc::unknown_port;
    return false;
  }
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

bool network::is_unix() const noexcept { return family == AF_UNIX; }

network parse_network(std::string_view name) noexcept {
  static constexpr struct {
    const char* given;
    network net;
  } table[] = {
      {"tcp", {AF_UNSPEC, SOCK_STREAM, "tcp"}},       {"tcp4", {AF_INET, SOCK_STREAM, "tcp"}},
      {"tcp6", {AF_INET6, SOCK_STREAM, "tcp"}},       {"udp", {AF_UNSPEC, SOCK_DGRAM, "udp"}},
      {"udp4", {AF_INET, SOCK_DGRAM, "udp"}},         {"udp6", {AF_INET6, SOCK_DGRAM, "udp"}},
      {"unix", {AF_UNIX, SOCK_STREAM, "unix"}},       {"unixgram", {AF_UNIX, SOCK_DGRAM, "unixgram"}},
      {"unixpacket", {AF_UNIX, SOCK_SEQPACKET, "unixpacket"}},
  };
  for (const auto& e : table)
    if (name == e.given) return e.net;
  return {};
}

sock_addr unix_addr(std::string_view path, std::error_code& err) {
  sock_addr r;
  auto* un = reinterpret_cast<sockaddr_un*>(&r.ss);
  if (path.empty()) {
    err = net::errc::invalid_address;
    return r;
  }
  // A path needs its terminating NUL inside sun_path; an abstract name
  // (its '@' becomes the leading NUL) does not.
  bool abstract = path.front() == '@';
  if (path.size() > sizeof un->sun_path || (path.size() == sizeof un->sun_path && !abstract)) {
    err = std::make_error_code(std::errc::invalid_argument);
    return r;
  }
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  if (abstract) un->sun_path[0] = '\0';
  // Go's length: the family and the name, plus the NUL for a path.
  r.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  if (r.len > sizeof(sockaddr_un)) r.len = sizeof(sockaddr_un);
  return r;
}

std::vector<sock_addr> resolve(const network& net, std::string_view address, bool passive, std::error_code& err) {
  const int family = net.family;
  std::string_view host, port_s;
  std::uint16_t port = 0;
  if (!split_host_port(address, host, port_s)) {
    err = net::errc::invalid_address;
    return {};
  }
  if (!parse_port(port_s, net.sotype == SOCK_DGRAM ? "udp" : "tcp", port, err)) return {};
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
