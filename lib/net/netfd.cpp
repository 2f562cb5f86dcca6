// netfd.cpp — socket operations over the netpoller. The fd-reuse
// invariant and lock order: netfd.hpp.
#include "net/netfd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <mutex>

namespace csp::detail {

// op_ref holds an operation reference for its scope.
class op_ref {
 public:
  explicit op_ref(netfd& fd) noexcept : fd_(fd), ok_(fd.acquire()) {}
  ~op_ref() {
    if (ok_) fd_.release();
  }
  explicit operator bool() const noexcept { return ok_; }

 private:
  netfd& fd_;
  const bool ok_;
};

std::error_code io_error(io_status s) noexcept {
  switch (s) {
    case io_status::closed: return net::errc::closed;
    case io_status::timeout: return net::errc::timeout;
    case io_status::ready: break;
  }
  return {};
}

std::shared_ptr<netfd> netfd::open(int fd, int family, std::error_code& err) {
  poll_desc* pd = pd_alloc(fd);
  if (int e = netpoll_register(fd, pd)) {
    err = sys_error(e);
    pd_free(pd);
    ::close(fd);
    return nullptr;
  }
  return std::shared_ptr<netfd>(new netfd(fd, family, pd));
}

netfd::~netfd() {
  // The last handle is gone, so no operation is in flight: close drops the
  // owner's reference, the last one.
  (void)close();
}

bool netfd::acquire() noexcept {
  std::uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if (s & closed_bit) return false;
    // acquire: nothing to pair with for the data (the kernel orders the
    // syscalls); it keeps the count and closed_bit one total order.
  } while (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_relaxed));
  return true;
}

void netfd::release() noexcept {
  // acq_rel: the last releaser sees every other operation's syscalls
  // finished before it closes the fd (as shared_ptr's count).
  if (state_.fetch_sub(1, std::memory_order_acq_rel) == (closed_bit | 1)) {
    pd_free(pd_);  // no waiter can be left: each op releases after its wait returned
    ::close(fd_);
  }
}

std::error_code netfd::close() {
  std::uint64_t s = state_.fetch_or(closed_bit, std::memory_order_acq_rel);
  if (s & closed_bit) return net::errc::closed;
  pd_evict(pd_);  // waiters wake with closed, return, and drop their references
  release();      // the owner's reference
  return {};
}

net::io_result netfd::read(std::span<std::byte> buf) {
  if (buf.empty()) return {};
  op_ref ref(*this);
  if (!ref) return {0, net::errc::closed};
  std::lock_guard<sync::mutex> lock(read_mu_);
  if (read_drained_) {
    // Drained last time: wait for the next edge before reading (a stale
    // token makes this return at once; the read below then finds out).
    // Not after a hang-up: data and the peer's FIN can arrive in one edge,
    // and a short read of the data leaves the end of stream to read with
    // no edge ever to come (net_test's half-close case hung on this under
    // ASan, once).
    read_drained_ = false;
    if (!pd_hung_up(pd_)) {
      if (io_status s = pd_wait(pd_, io_mode::read); s != io_status::ready) return {0, io_error(s)};
    }
  }
  for (;;) {
    if (io_status s = pd_check(pd_, io_mode::read); s != io_status::ready) return {0, io_error(s)};
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n > 0) {
      read_drained_ = static_cast<std::size_t>(n) < buf.size();
      return {static_cast<std::size_t>(n), {}};
    }
    if (n == 0) return {0, net::errc::eof};
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return {0, sys_error(errno)};
    if (io_status s = pd_wait(pd_, io_mode::read); s != io_status::ready) return {0, io_error(s)};
  }
}

net::io_result netfd::write(std::span<const std::byte> buf) {
  op_ref ref(*this);
  if (!ref) return {0, net::errc::closed};
  std::lock_guard<sync::mutex> lock(write_mu_);
  std::size_t done = 0;
  while (done < buf.size()) {
    if (io_status s = pd_check(pd_, io_mode::write); s != io_status::ready) return {done, io_error(s)};
    // MSG_NOSIGNAL: a reset peer is EPIPE here, never SIGPIPE.
    ssize_t n = ::send(fd_, buf.data() + done, buf.size() - done, MSG_NOSIGNAL);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return {done, sys_error(errno)};
    if (io_status s = pd_wait(pd_, io_mode::write); s != io_status::ready) return {done, io_error(s)};
  }
  return {done, {}};
}

std::shared_ptr<netfd> netfd::accept(std::error_code& err) {
  op_ref ref(*this);
  if (!ref) {
    err = net::errc::closed;
    return nullptr;
  }
  std::lock_guard<sync::mutex> lock(read_mu_);
  for (;;) {
    if (io_status s = pd_check(pd_, io_mode::read); s != io_status::ready) {
      err = io_error(s);
      return nullptr;
    }
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return open(fd, family_, err);
    }
    // The peer gave up before we accepted: not the listener's error (Go).
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno != EAGAIN) {
      err = sys_error(errno);  // EMFILE, ENFILE, ENOBUFS, ...: the caller decides
      return nullptr;
    }
    if (io_status s = pd_wait(pd_, io_mode::read); s != io_status::ready) {
      err = io_error(s);
      return nullptr;
    }
  }
}

std::error_code netfd::connect(const sockaddr* sa, socklen_t len) {
  op_ref ref(*this);
  if (!ref) return net::errc::closed;
  std::lock_guard<sync::mutex> lock(write_mu_);
  if (io_status s = pd_check(pd_, io_mode::write); s != io_status::ready) return io_error(s);
  int r = ::connect(fd_, sa, len);
  if (r == 0) return {};
  if (errno != EINPROGRESS && errno != EINTR) return sys_error(errno);
  for (;;) {
    // Writable means connected or failed. An unconnected socket reports
    // EPOLLHUP at registration, so writability alone proves nothing: ask
    // SO_ERROR, then getpeername (as Go's connect does).
    if (io_status s = pd_wait(pd_, io_mode::write); s != io_status::ready) return io_error(s);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) return sys_error(errno);
    if (soerr == EINPROGRESS || soerr == EALREADY || soerr == EINTR) continue;
    if (soerr != 0) return sys_error(soerr);
    sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &pl) == 0) return {};
    if (errno != ENOTCONN) return sys_error(errno);
  }
}

std::error_code netfd::shutdown(int how) {
  op_ref ref(*this);
  if (!ref) return net::errc::closed;
  if (::shutdown(fd_, how) != 0) return sys_error(errno);
  return {};
}

std::error_code netfd::set_deadline(std::int64_t when_ns, unsigned modes) {
  op_ref ref(*this);
  if (!ref) return net::errc::closed;
  pd_set_deadline(pd_, when_ns, modes);
  return {};
}

std::string netfd::local() {
  op_ref ref(*this);
  if (!ref) return {};
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return format_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

std::string netfd::remote() {
  op_ref ref(*this);
  if (!ref) return {};
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return format_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

std::string format_sockaddr(const sockaddr* sa) noexcept {
  char host[INET6_ADDRSTRLEN] = "";
  char out[INET6_ADDRSTRLEN + 16];
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    std::snprintf(out, sizeof out, "%s:%u", host, unsigned{ntohs(in->sin_port)});
  } else if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      ::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
      std::snprintf(out, sizeof out, "%s:%u", host, unsigned{ntohs(in6->sin6_port)});
    } else {
      ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
      std::snprintf(out, sizeof out, "[%s]:%u", host, unsigned{ntohs(in6->sin6_port)});
    }
  } else {
    return {};
  }
  return out;
}

}  // namespace csp::detail
