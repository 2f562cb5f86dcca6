// net.cpp — the entry points behind csp/net.hpp: error category, conn and
// listener facades, listen and dial. The socket work is netfd's; packet
// connections are packet.cpp's, addresses addr.cpp's.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "csp/goroutine.hpp"
#include "csp/net.hpp"
#include "csp/select.hpp"
#include "net/netfd.hpp"
#include "net/resolve.hpp"
#include "net/socket.hpp"

namespace csp::net {

namespace {

class net_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "net"; }
  std::string message(int e) const override {
    switch (static_cast<errc>(e)) {
      case errc::eof: return "EOF";
      case errc::closed: return "use of closed network connection";
      case errc::timeout: return "i/o timeout";
      case errc::no_such_host: return "no such host";
      case errc::invalid_address: return "invalid address";
      case errc::unknown_network: return "unknown network";
      case errc::unknown_port: return "unknown port";
      case errc::file_closed: return "file already closed";
      case errc::no_deadline: return "file type does not support deadline";
    }
    return "unknown net error";
  }
};


using detail::deadline_ns;
using detail::read_bit;
using detail::write_bit;

std::error_code closed_if_null(const std::shared_ptr<detail::netfd>& fd) noexcept {
  return fd ? std::error_code{} : make_error_code(errc::closed);
}

// dial_one connects to one address; the deadline (0: none) bounds the wait.
std::shared_ptr<detail::netfd> dial_one(const detail::sock_addr& a, int sotype, std::int64_t deadline,
                                        const context::context* ctx, std::error_code& err) {
  int s = detail::new_socket(a.family(), sotype, err);
  if (s < 0) return nullptr;
  if (sotype == SOCK_STREAM && a.family() != AF_UNIX) {
    int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  auto fd = detail::netfd::open(s, a.family(), sotype, err);
  if (!fd) return nullptr;
  if (deadline != 0) fd->set_deadline(deadline, write_bit);
  // Cancellation: a watcher expires the write deadline when ctx is done
  // (Go's DialContext does the same), and is waited for before the
  // deadline is cleared, so it cannot expire a connected conn's.
  chan<> stop, finished;
  if (ctx != nullptr && ctx->done()) {
    stop = make_chan<>();
    finished = make_chan<>();
    go([fd, done = ctx->done(), stop, finished] {
      if (select(recv(done), recv(stop)) == 0) fd->set_deadline(1, write_bit);
      finished.close();
    });
  }
  err = fd->connect(a.get(), a.len);
  if (stop) {
    stop.close();
    (void)finished.recv();
    if (err && ctx->err()) err = ctx->err() == context::canceled ? ctx->err() : make_error_code(errc::timeout);
  }
  if (err) {
    fd->close();
    return nullptr;
  }
  fd->set_deadline(0, write_bit);
  return fd;
}

dial_result dial_impl(std::string_view network, std::string_view address, std::int64_t deadline,
                      const context::context* ctx) {
  detail::network net = detail::parse_network(network);
  if (!net.known()) return {{}, errc::unknown_network};
  if (ctx != nullptr) {
    if (auto e = ctx->err()) return {{}, e == context::canceled ? e : make_error_code(errc::timeout)};
    if (auto d = ctx->deadline()) {
      std::int64_t cd = deadline_ns(*d);
      if (deadline == 0 || cd < deadline) deadline = cd;
    }
  }
  std::error_code err;
  std::vector<detail::sock_addr> addrs;
  if (net.is_unix()) addrs.push_back(detail::unix_addr(address, err));
  else addrs = detail::resolve(net, address, /*passive=*/false, err);
  if (err) return {{}, err};
  std::error_code first;
  for (const auto& a : addrs) {
    if (deadline != 0 && time::now().time_since_epoch().count() >= deadline) {
      if (!first) first = errc::timeout;
      break;
    }
    if (auto fd = dial_one(a, net.sotype, deadline, ctx, err)) return {conn(std::move(fd)), {}};
    if (!first) first = err;
    if (err == errc::timeout || err == context::canceled) break;  // no time left for the others
  }
  return {{}, first};
}

}  // namespace

const std::error_category& category() noexcept {
  static const net_category c;
  return c;
}

// ---- conn ----------------------------------------------------------------

io_result conn::read(std::span<std::byte> buf) const {
  if (!fd_) return {0, errc::closed};
  return fd_->read(buf);
}

io_result conn::read(std::span<char> buf) const { return read(std::as_writable_bytes(buf)); }

io_result conn::write(std::span<const std::byte> buf) const {
  if (!fd_) return {0, errc::closed};
  return fd_->write(buf);
}

io_result conn::write(std::string_view s) const { return write(std::as_bytes(std::span<const char>(s))); }

std::error_code conn::close() const { return fd_ ? fd_->close() : closed_if_null(fd_); }

std::error_code conn::close_write() const { return fd_ ? fd_->shutdown(SHUT_WR) : closed_if_null(fd_); }

std::error_code conn::set_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(deadline_ns(t), read_bit | write_bit) : closed_if_null(fd_);
}

std::error_code conn::set_read_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(deadline_ns(t), read_bit) : closed_if_null(fd_);
}

std::error_code conn::set_write_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(deadline_ns(t), write_bit) : closed_if_null(fd_);
}

std::string conn::local_addr() const { return fd_ ? fd_->local() : std::string(); }
std::string conn::remote_addr() const { return fd_ ? fd_->remote() : std::string(); }

// ---- listener --------------------------------------------------------------

accept_result listener::accept() const {
  if (!fd_) return {{}, errc::closed};
  std::error_code err;
  auto c = fd_->accept(err);
  if (!c) return {{}, err};
  return {conn(std::move(c)), {}};
}

std::string listener::addr() const { return fd_ ? fd_->local() : std::string(); }

std::error_code listener::close() const { return fd_ ? fd_->close() : closed_if_null(fd_); }

// ---- listen and dial ----------------------------------------------------------

listen_result listen(std::string_view network, std::string_view address) {
  detail::network net = detail::parse_network(network);
  if (!net.known() || net.sotype == SOCK_DGRAM) return {{}, errc::unknown_network};
  std::error_code err;
  detail::bound_socket b = detail::bind_socket(net, address, err);
  if (b.fd < 0) return {{}, err};
  // The kernel caps the backlog at net.core.somaxconn (Go reads that file
  // to pass the same number).
  if (::listen(b.fd, 65535) != 0) {
    err = detail::sys_error(errno);
    ::close(b.fd);
    return {{}, err};
  }
  auto fd = detail::netfd::open(b.fd, b.family, net.sotype, err);
  if (!fd) return {{}, err};
  if (net.is_unix() && address.front() != '@') fd->unlink_on_close(std::string(address));
  return {listener(std::move(fd)), {}};
}

dial_result dial(std::string_view network, std::string_view address) {
  return dial_impl(network, address, 0, nullptr);
}

dial_result dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout) {
  std::int64_t deadline = deadline_ns(time::now() + timeout);
  return dial_impl(network, address, deadline, nullptr);
}

dial_result dial(const context::context& ctx, std::string_view network, std::string_view address) {
  return dial_impl(network, address, 0, &ctx);
}

}  // namespace csp::net
