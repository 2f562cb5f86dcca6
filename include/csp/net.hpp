// csp/net.hpp — Go's net package for TCP: listeners, connections, dialing.
//
//   auto [ln, err] = net::listen("tcp", "127.0.0.1:0");
//   go([ln] { for (;;) { auto [c, err] = ln.accept(); if (err) return; go(serve, c); } });
//   auto [c, err2] = net::dial("tcp", ln.addr());
//   c.write("hello\n");
//   std::array<char, 64> buf;
//   auto [n, err3] = c.read(buf);        // n > 0, or err (net::errc::eof at end of stream)
//
// Every call that waits parks the calling goroutine ("IO wait") and frees
// its worker; from a plain thread it blocks the thread. Sockets are
// non-blocking, close-on-exec, TCP_NODELAY (as Go's), and a write to a
// reset connection returns an error (EPIPE), never SIGPIPE.
//
// Errors are values (std::error_code), never exceptions:
//   - net::errc::eof      end of stream (Go's io.EOF)
//   - net::errc::closed   the conn/listener was closed (net.ErrClosed)
//   - net::errc::timeout  a deadline passed (os.ErrDeadlineExceeded;
//                         net::is_timeout(err) is true)
//   - net::errc::no_such_host, invalid_address, unknown_network: dial/listen
//   - everything the kernel says, in std::system_category(), so
//     `err == std::errc::connection_refused` (or connection_reset,
//     too_many_files_open, ...) works
//   - dial(ctx, ...) cancelled: context::canceled
// docs/net.md has the whole table and the poller's design.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "csp/detail/chrono.hpp"  // <chrono> without its I/O
#include "csp/context.hpp"
#include "csp/time.hpp"

namespace csp::detail {
class netfd;
}

namespace csp::net {

// errc: the net package's own errors; category "net".
enum class errc {
  eof = 1,          // "EOF"
  closed,           // "use of closed network connection"
  timeout,          // "i/o timeout"
  no_such_host,     // "no such host"
  invalid_address,  // "invalid address" (no port, bad port, bad brackets)
  unknown_network,  // "unknown network" (not tcp, tcp4 or tcp6)
};
// category is the "net" error category of errc's codes; make_error_code
// makes an errc a std::error_code, so `err == net::errc::eof` reads as Go's
// `err == io.EOF`.
const std::error_category& category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// is_timeout is true for a deadline that passed (Go's os.IsTimeout).
inline bool is_timeout(std::error_code err) noexcept { return err == make_error_code(errc::timeout); }

}  // namespace csp::net

template <>
struct std::is_error_code_enum<csp::net::errc> : std::true_type {};

namespace csp::net {

// io_result: what read and write return, for `auto [n, err] = c.read(buf)`.
struct io_result {
  // n is the number of bytes moved, err why it stopped (false: no error).
  std::size_t n = 0;
  std::error_code err;
};

// conn is a TCP connection: a shared handle, like Go's net.Conn value —
// copies refer to the same connection; the last handle to go closes it if
// close() was not called. Every member is const and safe to call from any
// number of goroutines and threads at once (reads are serialized with
// reads, writes with writes). Default-constructed: no connection (every
// call returns errc::closed).
class conn {
 public:
  // conn() is no connection; the other constructor is for the implementation.
  conn() = default;
  explicit conn(std::shared_ptr<detail::netfd> fd) noexcept : fd_(std::move(fd)) {}

  // read reads up to buf.size() bytes: n > 0 with no error, or n == 0 and
  // an error (errc::eof at the end of the stream). An empty buf returns
  // {0, {}} at once. Waits while no data is there.
  io_result read(std::span<std::byte> buf) const;
  io_result read(std::span<char> buf) const;

  // write writes all of buf, or returns how much it wrote and why it
  // stopped (a deadline, close, a reset peer).
  io_result write(std::span<const std::byte> buf) const;
  io_result write(std::string_view s) const;

  // close closes the connection; goroutines blocked in read or write on it
  // return errc::closed. A second close returns errc::closed. The fd itself
  // is released when the last operation in flight on it has returned.
  std::error_code close() const;
  // close_write shuts down the sending side (the peer reads eof); reading
  // still works (Go's TCPConn.CloseWrite).
  std::error_code close_write() const;

  // set_deadline sets the read and write deadlines; set_read_deadline and
  // set_write_deadline one of them. An operation waiting when its deadline
  // passes, and every one started after, returns errc::timeout until the
  // deadline is moved. A default time_point{} clears the deadline; a time
  // already past expires it at once. Works while an operation waits.
  std::error_code set_deadline(time::time_point t) const;
  std::error_code set_read_deadline(time::time_point t) const;
  std::error_code set_write_deadline(time::time_point t) const;

  // local_addr and remote_addr: "127.0.0.1:8080", "[::1]:8080"; empty once
  // closed.
  std::string local_addr() const;
  std::string remote_addr() const;

  // A conn is true when it is a connection (closed or not).
  explicit operator bool() const noexcept { return fd_ != nullptr; }
  friend bool operator==(const conn&, const conn&) = default;  // same connection

 private:
  std::shared_ptr<detail::netfd> fd_;
};

// accept_result: what accept returns, for `auto [c, err] = ln.accept()`.
struct accept_result {
  // conn is the new connection, or none with err saying why.
  net::conn conn;
  std::error_code err;
};

// listener is a TCP listening socket: a shared handle like conn; the last
// handle closes it if close() was not called.
class listener {
 public:
  // listener() is no listener; the other constructor is for the implementation.
  listener() = default;
  explicit listener(std::shared_ptr<detail::netfd> fd) noexcept : fd_(std::move(fd)) {}

  // accept waits for the next connection. errc::closed once the listener is
  // closed (which wakes a blocked accept); a resource error such as
  // std::errc::too_many_files_open is returned as is (the listener stays
  // usable: retry after a pause, as Go's http server does).
  accept_result accept() const;
  // addr is the address it listens on, with the port the kernel chose for
  // ":0": "127.0.0.1:41234". Empty once closed.
  std::string addr() const;
  // close stops listening; a blocked accept returns errc::closed.
  std::error_code close() const;

  // A listener is true when it is one (closed or not); equal handles share
  // the socket.
  explicit operator bool() const noexcept { return fd_ != nullptr; }
  friend bool operator==(const listener&, const listener&) = default;

 private:
  std::shared_ptr<detail::netfd> fd_;
};

// listen_result: what listen returns, for `auto [ln, err] = net::listen(...)`.
struct listen_result {
  // listener is the new listener, or none with err saying why.
  net::listener listener;
  std::error_code err;
};
// dial_result: what dial returns, for `auto [c, err] = net::dial(...)`.
struct dial_result {
  // conn is the new connection, or none with err saying why.
  net::conn conn;
  std::error_code err;
};

// listen listens on address ("host:port", "[v6addr]:port", ":port";
// port 0 picks a free port). network is "tcp", "tcp4" or "tcp6". An empty
// host listens on every address (dual-stack for "tcp"). Host names resolve
// through getaddrinfo on a runtime::blocking helper.
listen_result listen(std::string_view network, std::string_view address);

// dial connects to address ("127.0.0.1:8080", "[::1]:8080",
// "localhost:8080"), trying each resolved address in turn.
dial_result dial(std::string_view network, std::string_view address);

// dial_timeout is dial with a limit on the whole dial; errc::timeout when
// it passes. (A name's getaddrinfo cannot be interrupted: the limit is
// checked once it returns.)
dial_result dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout);

// dial with a context: its deadline limits the dial (errc::timeout), its
// cancellation ends it (context::canceled).
dial_result dial(const context::context& ctx, std::string_view network, std::string_view address);

}  // namespace csp::net
