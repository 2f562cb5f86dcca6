// netfd.hpp — a non-blocking descriptor registered with the netpoller
// (Go's internal/poll.FD): the object behind net::conn, net::listener,
// net::packet_conn and os::file.
//
// What it is decides how it reads and writes (sotype_):
//   - a stream socket (TCP, unix): read/send; a short read means the
//     receive queue was empty (read_drained_ below);
//   - a datagram or seqpacket socket: one read is one datagram, so a short
//     read says nothing about the queue; an empty datagram is not the end
//     of a datagram stream (Go's ZeroReadIsEOF); one send is one datagram;
//   - a file (sotype_ 0): read/write(2), with SIGPIPE blocked around the
//     write so a pipe whose reader has gone is EPIPE, as a socket's
//     MSG_NOSIGNAL gives. A FIFO drains like a stream. A file the poller
//     cannot watch (a regular file, an fd left in blocking mode) has no
//     poll descriptor (pd_ null) and does each syscall on a
//     runtime::blocking helper; so does one switched to blocking mode
//     (set_blocking) to be shared with a child process.
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
//     closed_bit is set (eviction wakes them), so the fd goes promptly;
//     except an unpolled one inside a blocking syscall on a helper, which
//     holds the fd until the kernel returns (as in Go: close cannot
//     interrupt a blocking read of a file).
// read_mu_ and write_mu_ serialize reads with reads and writes with writes
// (Go's fdMutex read and write locks): a poll descriptor direction holds
// one waiter, and a write of a whole buffer must not interleave with
// another. Lock order: an op reference, then read_mu_/write_mu_, then (in
// pd_wait) the poll descriptor's lock.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "csp/net.hpp"
#include "csp/sync.hpp"
#include "csp/time.hpp"
#include "netpoll/netpoll.hpp"

namespace csp::detail {

class netfd {
 public:
  // open registers an already non-blocking, close-on-exec socket of type
  // sotype (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET) with the poller; on
  // failure closes it and returns the error.
  static std::shared_ptr<netfd> open(int fd, int family, int sotype, std::error_code& err);
  // open_file takes any descriptor: registered with the poller when it is
  // in non-blocking mode and the kernel can poll it, else unpolled (see
  // above). On failure closes it and returns the error.
  static std::shared_ptr<netfd> open_file(int fd, std::error_code& err);
  ~netfd();
  netfd(const netfd&) = delete;
  netfd& operator=(const netfd&) = delete;

  net::io_result read(std::span<std::byte> buf);
  net::io_result write(std::span<const std::byte> buf);
  // read_from receives one datagram and its sender (len 0: none, as from
  // an unnamed unix socket); write_to sends one to sa.
  net::io_result read_from(std::span<std::byte> buf, sockaddr_storage& from, socklen_t& from_len);
  net::io_result write_to(std::span<const std::byte> buf, const sockaddr* sa, socklen_t len);
  std::shared_ptr<netfd> accept(std::error_code& err);
  // connect starts a connect and waits for it (write readiness, then
  // SO_ERROR), bounded by the write deadline.
  std::error_code connect(const sockaddr* sa, socklen_t len);
  std::error_code close();
  // unlink_on_close: close() also removes this socket file (a unix
  // listener's, as Go's UnixListener). Before the netfd is shared only.
  void unlink_on_close(std::string path) { unlink_path_ = std::move(path); }
  std::error_code shutdown(int how);
  std::error_code set_deadline(std::int64_t when_ns, unsigned modes);
  // local/remote: the formatted address, empty if closed or unknown.
  std::string local();
  std::string remote();
  int family() const noexcept { return family_; }
  int sotype() const noexcept { return sotype_; }
  int sysfd() const noexcept { return fd_; }  // for setsockopt at creation only
  // fd_if_open: the descriptor, or -1 once close() was called.
  int fd_if_open() const noexcept;
  // set_blocking puts the fd in blocking mode, for handing it to a child
  // process (os::file::fd, as Go's Fd): from then on every read and write
  // runs on a runtime::blocking helper and deadlines are errc::no_deadline.
  std::error_code set_blocking();

 private:
  netfd(int fd, int family, int sotype, poll_desc* pd) noexcept
      : fd_(fd), family_(family), sotype_(sotype), pd_(pd) {}
  bool is_file() const noexcept { return sotype_ == 0; }
  // io runs op (one syscall: a count, or -1 and errno) until it is neither
  // EINTR nor EAGAIN, waiting for `mode` after EAGAIN; -1 and err on
  // failure (closed, a deadline, the kernel's error).
  template <class Op>
  ssize_t io(io_mode mode, Op op, std::error_code& err);
  // closed_error: errc::file_closed for a file, errc::closed for a socket.
  std::error_code closed_error() const noexcept;
  std::error_code status_error(io_status s) const noexcept;
  // polled: waits go through the poller (not unpolled, not set_blocking).
  bool polled() const noexcept;
  // sys_write: one send/sendto/write(2) without SIGPIPE; -1 and errno.
  ssize_t sys_write(const std::byte* p, std::size_t n, const sockaddr* to, socklen_t to_len) const noexcept;
  bool acquire() noexcept;  // takes an op reference; false once closed
  void release() noexcept;  // drops one; the last closes the fd
  friend class op_ref;

  static constexpr std::uint64_t closed_bit = std::uint64_t{1} << 63;
  const int fd_;
  const int family_;  // AF_INET, AF_INET6, AF_UNIX; AF_UNSPEC for a file
  const int sotype_;  // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET; 0 for a file
  poll_desc* const pd_;  // null: unpolled, each syscall on a runtime::blocking helper
  // drains_: a short read means the queue was empty (stream sockets, FIFOs).
  bool drains_ = false;
  bool is_socket_ = false;  // sotype_ != 0, or a file that fstat says is a socket
  std::atomic<bool> blocking_{false};  // set_blocking was called: treat as unpolled
  std::string unlink_path_;  // set before sharing; used once, by close()
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

// deadline_ns maps a time_point to the poller's deadline: 0 for the zero
// time_point (no deadline), at least 1 otherwise (a time long past).
inline std::int64_t deadline_ns(time::time_point t) noexcept {
  if (t == time::time_point{}) return 0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return ns > 0 ? ns : 1;
}
// The `modes` bits of netfd::set_deadline.
inline constexpr unsigned read_bit = 1, write_bit = 2;

// Converting poll outcomes and errno values to the net package's errors.
std::error_code io_error(io_status s) noexcept;
inline std::error_code sys_error(int e) noexcept { return {e, std::system_category()}; }

// format_sockaddr: "1.2.3.4:80", "[::1]:80" (v4-mapped v6 shows as v4);
// a unix path, "@name" for an abstract one, "" for an unnamed one.
std::string format_sockaddr(const sockaddr* sa, socklen_t len);

}  // namespace csp::detail
