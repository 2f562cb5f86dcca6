// addr.cpp — net::addr (Go's net.Addr as a value) and the resolvers that
// make one: resolve_udp_addr, resolve_unix_addr.
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "csp/net.hpp"
#include "net/netfd.hpp"
#include "net/resolve.hpp"

namespace csp::net {

namespace {

// The networks an addr can name; net_ indexes this. "" is no network.
constexpr std::string_view network_names[] = {"", "tcp", "udp", "unix", "unixgram", "unixpacket"};

std::uint8_t network_index(std::string_view network) noexcept {
  for (std::size_t i = 1; i < std::size(network_names); ++i)
    if (network_names[i] == network) return static_cast<std::uint8_t>(i);
  return 0;
}

}  // namespace

addr addr::from_sockaddr(const void* sa, std::size_t len, std::string_view network) noexcept {
  addr a;
  len = std::min(len, a.storage_.size());
  auto* s = static_cast<const ::sockaddr*>(sa);
  // Go returns a nil Addr for an unnamed unix socket (the family alone).
  if (len == 0 || (s->sa_family == AF_UNIX && len <= offsetof(sockaddr_un, sun_path))) return a;
  std::memcpy(a.storage_.data(), sa, len);
  a.len_ = static_cast<std::uint32_t>(len);
  a.net_ = network_index(network);
  return a;
}

std::string addr::string() const {
  if (len_ == 0) return {};
  return detail::format_sockaddr(reinterpret_cast<const ::sockaddr*>(storage_.data()), static_cast<socklen_t>(len_));
}

std::string_view addr::network() const noexcept { return len_ == 0 ? std::string_view() : network_names[net_]; }

bool operator==(const addr& a, const addr& b) noexcept {
  // By what the address says, not its bytes: the kernel's length of a
  // unix path may or may not count the NUL that resolve_unix_addr's does.
  if (a.len_ != b.len_ && (a.len_ == 0 || b.len_ == 0)) return false;
  try {
    return a.network() == b.network() && a.string() == b.string();
  } catch (...) {  // out of memory formatting a short string
    return false;
  }
}

resolve_result resolve_udp_addr(std::string_view network, std::string_view address) {
  detail::network net = detail::parse_network(network);
  if (!net.known() || net.sotype != SOCK_DGRAM || net.is_unix()) return {{}, errc::unknown_network};
  std::error_code err;
  auto addrs = detail::resolve(net, address, /*passive=*/false, err);
  if (err) return {{}, err};
  // Go's ResolveUDPAddr prefers IPv4 for "udp".
  auto it = std::find_if(addrs.begin(), addrs.end(), [](const auto& a) { return a.family() == AF_INET; });
  const auto& a = it != addrs.end() ? *it : addrs.front();
  return {addr::from_sockaddr(a.get(), a.len, "udp"), {}};
}

resolve_result resolve_unix_addr(std::string_view network, std::string_view path) {
  detail::network net = detail::parse_network(network);
  if (!net.is_unix()) return {{}, errc::unknown_network};
  std::error_code err;
  detail::sock_addr a = detail::unix_addr(path, err);
  if (err) return {{}, err};
  return {addr::from_sockaddr(a.get(), a.len, net.name), {}};
}

}  // namespace csp::net
