// netfd.cpp — socket operations over the netpoller. The fd-reuse
// invariant and lock order: netfd.hpp.
#include "net/netfd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <utility>

#include "csp/runtime.hpp"

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

std::shared_ptr<netfd> netfd::open(int fd, int family, int sotype, std::error_code& err) {
  poll_desc* pd = pd_alloc(fd);
  if (int e = netpoll_register(fd, pd)) {
    err = sys_error(e);
    pd_free(pd);
    ::close(fd);
    return nullptr;
  }
  std::shared_ptr<netfd> nfd(new netfd(fd, family, sotype, pd));
  nfd->drains_ = sotype == SOCK_STREAM;
  nfd->is_socket_ = true;
  return nfd;
}

std::shared_ptr<netfd> netfd::open_file(int fd, std::error_code& err) {
  struct stat st {};
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fstat(fd, &st) != 0) {
    err = sys_error(errno);
    ::close(fd);
    return nullptr;
  }
  poll_desc* pd = nullptr;
  if (flags & O_NONBLOCK) {
    pd = pd_alloc(fd);
    if (netpoll_register(fd, pd) != 0) {
      // EPERM: a regular file or directory, which epoll cannot watch
      // (always "ready"): unpolled, as Go's NewFile falls back to.
      pd_free(pd);
      pd = nullptr;
    }
  }
  std::shared_ptr<netfd> nfd(new netfd(fd, AF_UNSPEC, 0, pd));
  nfd->drains_ = pd != nullptr && S_ISFIFO(st.st_mode);
  nfd->is_socket_ = S_ISSOCK(st.st_mode);
  return nfd;
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
    if (pd_ != nullptr) pd_free(pd_);  // no waiter can be left: each op releases after its wait returned
    ::close(fd_);
  }
}

std::error_code netfd::close() {
  std::uint64_t s = state_.fetch_or(closed_bit, std::memory_order_acq_rel);
  if (s & closed_bit) return closed_error();
  // Before the fd goes, as Go: a new listener may bind the path at once.
  if (!unlink_path_.empty()) ::unlink(unlink_path_.c_str());
  if (pd_ != nullptr) pd_evict(pd_);  // waiters wake with closed, return, and drop their references
  release();                          // the owner's reference
  return {};
}

int netfd::fd_if_open() const noexcept {
  // acquire; pairs with close's acq_rel fetch_or (a stale answer is as
  // good as one a moment earlier: the caller races close either way).
  return (state_.load(std::memory_order_acquire) & closed_bit) ? -1 : fd_;
}

std::error_code netfd::closed_error() const noexcept {
  return is_file() ? make_error_code(net::errc::file_closed) : make_error_code(net::errc::closed);
}

std::error_code netfd::status_error(io_status s) const noexcept {
  return s == io_status::closed ? closed_error() : io_error(s);
}

bool netfd::polled() const noexcept {
  // acquire; pairs with the store in set_blocking (made before the fd
  // changes mode, so an op that sees the fd blocking sees this too).
  return pd_ != nullptr && !blocking_.load(std::memory_order_acquire);
}

std::error_code netfd::set_blocking() {
  op_ref ref(*this);
  if (!ref) return closed_error();
  blocking_.store(true, std::memory_order_release);
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0) return sys_error(errno);
  return {};
}

namespace {

// write_no_sigpipe is write(2) with SIGPIPE blocked on this thread, and a
// SIGPIPE that the write raised consumed before it is unblocked: a pipe
// whose reader has gone is EPIPE, never the signal (a socket gets the same
// from MSG_NOSIGNAL). Two more syscalls per write, only for files. A
// goroutine cannot move between threads inside this function (it does not
// park), so the mask is restored on the thread that changed it.
ssize_t write_no_sigpipe(int fd, const void* p, std::size_t n) noexcept {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t r = ::write(fd, p, n);
  int e = errno;
  if (r < 0 && e == EPIPE && !sigismember(&old, SIGPIPE)) {
    timespec zero{};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = e;
  return r;
}

}  // namespace

ssize_t netfd::sys_write(const std::byte* p, std::size_t n, const sockaddr* to, socklen_t to_len) const noexcept {
  // MSG_NOSIGNAL: a reset peer is EPIPE here, never SIGPIPE.
  if (to != nullptr) return ::sendto(fd_, p, n, MSG_NOSIGNAL, to, to_len);
  if (is_socket_) return ::send(fd_, p, n, MSG_NOSIGNAL);
  return write_no_sigpipe(fd_, p, n);
}

template <class Op>
ssize_t netfd::io(io_mode mode, Op op, std::error_code& err) {
  for (;;) {
    if (!polled()) {
      // Unpolled: the syscall may block, so it runs on a helper while the
      // goroutine parks ("syscall"); inline from a plain thread.
      auto [n, e] = runtime::blocking([&] {
        ssize_t r = op();
        return std::pair<ssize_t, int>(r, r < 0 ? errno : 0);
      });
      if (n >= 0) return n;
      if (e == EINTR) continue;
      err = sys_error(e);
      return -1;
    }
    if (io_status s = pd_check(pd_, mode); s != io_status::ready) {
      err = status_error(s);
      return -1;
    }
    ssize_t n = op();
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      err = sys_error(errno);
      return -1;
    }
    if (io_status s = pd_wait(pd_, mode); s != io_status::ready) {
      err = status_error(s);
      return -1;
    }
  }
}

net::io_result netfd::read(std::span<std::byte> buf) {
  if (buf.empty()) return {};
  op_ref ref(*this);
  if (!ref) return {0, closed_error()};
  std::lock_guard<sync::mutex> lock(read_mu_);
  if (read_drained_ && polled()) {
    // Drained last time: wait for the next edge before reading (a stale
    // token makes this return at once; the read below then finds out).
    // Not after a hang-up: data and the peer's FIN can arrive in one edge,
    // and a short read of the data leaves the end of stream to read with
    // no edge ever to come (net_test's half-close case hung on this under
    // ASan, once).
    read_drained_ = false;
    if (!pd_hung_up(pd_)) {
      if (io_status s = pd_wait(pd_, io_mode::read); s != io_status::ready) return {0, status_error(s)};
    }
  }
  std::error_code err;
  ssize_t n = io(io_mode::read, [&] { return ::read(fd_, buf.data(), buf.size()); }, err);
  if (n < 0) return {0, err};
  // Zero is the end of a stream, but an empty datagram (Go's ZeroReadIsEOF).
  if (n == 0) return {0, sotype_ == SOCK_DGRAM ? std::error_code{} : make_error_code(net::errc::eof)};
  read_drained_ = drains_ && static_cast<std::size_t>(n) < buf.size();
  return {static_cast<std::size_t>(n), {}};
}

net::io_result netfd::read_from(std::span<std::byte> buf, sockaddr_storage& from, socklen_t& from_len) {
  op_ref ref(*this);
  if (!ref) return {0, closed_error()};
  std::lock_guard<sync::mutex> lock(read_mu_);
  std::error_code err;
  ssize_t n = io(
      io_mode::read,
      [&] {
        from_len = sizeof from;
        return ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      },
      err);
  if (n < 0) {
    from_len = 0;
    return {0, err};
  }
  return {static_cast<std::size_t>(n), {}};
}

net::io_result netfd::write(std::span<const std::byte> buf) {
  op_ref ref(*this);
  if (!ref) return {0, closed_error()};
  std::lock_guard<sync::mutex> lock(write_mu_);
  std::error_code err;
  if (sotype_ == SOCK_DGRAM || sotype_ == SOCK_SEQPACKET) {
    // One send, one message, empty ones included.
    ssize_t n = io(io_mode::write, [&] { return sys_write(buf.data(), buf.size(), nullptr, 0); }, err);
    return {n < 0 ? 0 : static_cast<std::size_t>(n), err};
  }
  std::size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = io(io_mode::write, [&] { return sys_write(buf.data() + done, buf.size() - done, nullptr, 0); }, err);
    if (n < 0) return {done, err};
    done += static_cast<std::size_t>(n);
  }
  return {done, {}};
}

net::io_result netfd::write_to(std::span<const std::byte> buf, const sockaddr* sa, socklen_t len) {
  op_ref ref(*this);
  if (!ref) return {0, closed_error()};
  std::lock_guard<sync::mutex> lock(write_mu_);
  std::error_code err;
  ssize_t n = io(io_mode::write, [&] { return sys_write(buf.data(), buf.size(), sa, len); }, err);
  return {n < 0 ? 0 : static_cast<std::size_t>(n), err};
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
      if (family_ != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      return open(fd, family_, sotype_, err);
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
  if (!ref) return closed_error();
  if (!polled()) return net::errc::no_deadline;
  pd_set_deadline(pd_, when_ns, modes);
  return {};
}

std::string netfd::local() {
  op_ref ref(*this);
  if (!ref) return {};
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return format_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

std::string netfd::remote() {
  op_ref ref(*this);
  if (!ref) return {};
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return format_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

std::string format_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa->sa_family == AF_UNIX) {
    // Go's UnixAddr.String: the path; an abstract name with '@' for its
    // leading NUL; "" for an unnamed socket (len covers the family only).
    auto* un = reinterpret_cast<const sockaddr_un*>(sa);
    std::size_t off = offsetof(sockaddr_un, sun_path);
    if (len <= off) return {};
    std::size_t n = len - off;
    if (un->sun_path[0] == '\0') return "@" + std::string(un->sun_path + 1, n - 1);
    return std::string(un->sun_path, ::strnlen(un->sun_path, n));
  }
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
