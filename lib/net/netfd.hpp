// netfd.hpp — a non-blocking socket registered with the netpoller (Go's
// internal/poll.FD): the object behind net::conn and net::listener.
//
// The fd-reuse invariant: the fd number is closed only when no thread can
// be inside a syscall on it, because the kernel would hand the number to
// the next socket and a late read would read someone else's data. state_
// is Go's fdMutex reduced to what that needs:
//   - the low bits count references: one held from creation until close(),
//     one by each operation in flight (op_ref, taken before the syscall,
//     dropped after);
//   - closed_bit is set once, by close(): no new reference is handed out,
//     the poll descriptor is evicted (waiters return errc::closed), and the
//     owner's reference is dropped;
//   - whoever drops the last reference closes the fd and recycles the poll
//     descriptor. Operations in flight are never parked for long once
//     closed_bit is set (eviction wakes them), so the fd goes promptly.
// read_mu_ and write_mu_ serialize reads with reads and writes with writes
// (Go's fdMutex read and write locks): a poll descriptor direction holds
// one waiter, and a write of a whole buffer must not interleave with
// another. Lock order: an op reference, then read_mu_/write_mu_, then (in
// pd_wait) the poll descriptor's lock.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "csp/net.hpp"
#include "csp/sync.hpp"
#include "netpoll/netpoll.hpp"

namespace csp::detail {

class netfd {
 public:
  // open registers an already non-blocking, close-on-exec socket with the
  // poller; on failure closes it and returns the error.
  static std::shared_ptr<netfd> open(int fd, int family, std::error_code& err);
  ~netfd();
  netfd(const netfd&) = delete;
  netfd& operator=(const netfd&) = delete;

  net::io_result read(std::span<std::byte> buf);
  net::io_result write(std::span<const std::byte> buf);
  std::shared_ptr<netfd> accept(std::error_code& err);
  // connect starts a connect and waits for it (write readiness, then
  // SO_ERROR), bounded by the write deadline.
  std::error_code connect(const sockaddr* sa, socklen_t len);
  std::error_code close();
  std::error_code shutdown(int how);
  std::error_code set_deadline(std::int64_t when_ns, unsigned modes);
  // local/remote: the formatted address, empty if closed or unknown.
  std::string local();
  std::string remote();
  int family() const noexcept { return family_; }
  int sysfd() const noexcept { return fd_; }  // for setsockopt at creation only

 private:
  netfd(int fd, int family, poll_desc* pd) noexcept : fd_(fd), family_(family), pd_(pd) {}
  bool acquire() noexcept;  // takes an op reference; false once closed
  void release() noexcept;  // drops one; the last closes the fd
  friend class op_ref;

  static constexpr std::uint64_t closed_bit = std::uint64_t{1} << 63;
  const int fd_;
  const int family_;
  poll_desc* const pd_;
  std::atomic<std::uint64_t> state_{1};  // references | closed_bit; see above
  sync::mutex read_mu_;
  // read_drained_: the last read returned less than it asked for, so the
  // socket's receive queue was empty then and any later data brings a
  // fresh edge (a token or a wake-up). The next read waits for readiness
  // first instead of spending a read(2) on EAGAIN: one system call fewer
  // per request on a keep-alive connection. Not once the peer has hung up
  // (pd_hung_up): its FIN may have come in the same edge as the data, and
  // no edge would announce the end of stream. Guarded by read_mu_.
  bool read_drained_ = false;
  sync::mutex write_mu_;
};

// Converting poll outcomes and errno values to the net package's errors.
std::error_code io_error(io_status s) noexcept;
inline std::error_code sys_error(int e) noexcept { return {e, std::system_category()}; }

// format_sockaddr: "1.2.3.4:80", "[::1]:80" (v4-mapped v6 shows as v4).
std::string format_sockaddr(const sockaddr* sa) noexcept;

}  // namespace csp::detail
