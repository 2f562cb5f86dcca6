// csp/net.hpp — Go's net package: TCP, UDP and Unix-domain sockets;
// listeners, connections, packet connections, dialing.
//
//   auto [ln, err] = net::listen("tcp", "127.0.0.1:0");
//   go([ln] { for (;;) { auto [c, err] = ln.accept(); if (err) return; go(serve, c); } });
//   auto [c, err2] = net::dial("tcp", ln.addr());
//   c.write("hello\n");
//   std::array<char, 64> buf;
//   auto [n, err3] = c.read(buf);        // n > 0, or err (net::errc::eof at end of stream)
//
//   auto [pc, err4] = net::listen_packet("udp", "127.0.0.1:0");   // or "unixgram", path
//   auto [m, from, err5] = pc.read_from(buf);                     // one datagram
//   pc.write_to(std::span(buf.data(), m), from);
//
// Networks: "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix" (stream),
// "unixgram" (datagrams), "unixpacket" (sequenced packets). A port may be a
// service name ("localhost:http"); a unix address is a path, or "@name" for
// Linux's abstract namespace.
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
//   - net::errc::no_such_host, invalid_address, unknown_network,
//     unknown_port: dial/listen/resolve
//   - everything the kernel says, in std::system_category(), so
//     `err == std::errc::connection_refused` (or connection_reset,
//     too_many_files_open, ...) works
//   - dial(ctx, ...) cancelled: context::canceled
// docs/net.md has the whole table and the poller's design.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <array>
#include <cstddef>
#include <cstdint>
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
  unknown_network,  // "unknown network" (not one of the networks above, or not for this call)
  unknown_port,     // "unknown port" (a service name neither /etc/services nor Go's table knows)
  file_closed,      // "file already closed" (os::file; Go's os.ErrClosed)
  no_deadline,      // "file type does not support deadline" (os::file on a blocking fd)
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

// conn is a connection: TCP, unix stream or unixpacket, or a connected
// datagram socket from dial("udp"|"unixgram"). A shared handle, like Go's
// net.Conn value: copies refer to the same connection; the last handle to
// go closes it if close() was not called. Every member is const and safe to call from any
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
  // {0, {}} at once. Waits while no data is there. On a datagram socket
  // each read returns one datagram: what does not fit in buf is dropped
  // (n == buf.size(), no error, as Go on Linux), and an empty datagram is
  // {0, {}} (there is no end of stream).
  io_result read(std::span<std::byte> buf) const;
  io_result read(std::span<char> buf) const;

  // write writes all of buf, or returns how much it wrote and why it
  // stopped (a deadline, close, a reset peer). On a datagram socket one
  // write is one datagram (an empty buf sends an empty one); too large a
  // datagram is std::errc::message_size.
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

  // local_addr and remote_addr: "127.0.0.1:8080", "[::1]:8080", a unix
  // socket's path ("@name" if abstract; empty if unnamed); empty once
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

// listener is a listening socket ("tcp" or "unix"/"unixpacket"): a shared
// handle like conn; the last handle closes it if close() was not called.
// Closing a unix listener removes its socket file, as Go's does.
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
  // ":0": "127.0.0.1:41234"; a unix listener's path. Empty once closed.
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
// port 0 picks a free port). network is "tcp", "tcp4" or "tcp6", or
// "unix"/"unixpacket" with a path as address. An empty host listens on
// every address (dual-stack for "tcp"). Host names and service names
// resolve on a runtime::blocking helper (getaddrinfo, getservbyname_r).
// A unix path longer than the kernel's sun_path is std::errc::invalid_argument.
listen_result listen(std::string_view network, std::string_view address);

// dial connects to address ("127.0.0.1:8080", "[::1]:8080",
// "localhost:http", a unix path), trying each resolved address in turn.
// "udp", "udp4", "udp6" and "unixgram" give a connected datagram conn: it
// sends to and receives from that one peer (a unixgram conn's own address
// is unnamed, so a server cannot answer it).
dial_result dial(std::string_view network, std::string_view address);

// dial_timeout is dial with a limit on the whole dial; errc::timeout when
// it passes. (A name's getaddrinfo cannot be interrupted: the limit is
// checked once it returns.)
dial_result dial_timeout(std::string_view network, std::string_view address, std::chrono::nanoseconds timeout);

// dial with a context: its deadline limits the dial (errc::timeout), its
// cancellation ends it (context::canceled).
dial_result dial(const context::context& ctx, std::string_view network, std::string_view address);

// ---- addresses -----------------------------------------------------------

// addr is a socket address with its network: Go's net.Addr (a *UDPAddr,
// *UnixAddr or *TCPAddr) as a value. Where Go returns a nil Addr (the
// sender of a datagram from an unnamed unix socket) it is empty.
class addr {
 public:
  addr() = default;
  // from_sockaddr copies a kernel address (a sockaddr of len bytes) for
  // network; an unnamed unix address gives an empty addr.
  static addr from_sockaddr(const void* sa, std::size_t len, std::string_view network) noexcept;

  // string: "127.0.0.1:53", "[::1]:53", "/run/app.sock", "@abstract"
  // (Go's Addr.String); "" when empty.
  std::string string() const;
  // network: "udp", "unixgram", ... (Go's Addr.Network); "" when empty.
  std::string_view network() const noexcept;
  // sockaddr and size: the kernel's form, for calls net:: does not wrap.
  const void* sockaddr() const noexcept { return storage_.data(); }
  std::size_t size() const noexcept { return len_; }

  // An addr is true when it holds an address (Go: a non-nil Addr).
  explicit operator bool() const noexcept { return len_ != 0; }
  // Equal addresses have the same network and the same string.
  friend bool operator==(const addr& a, const addr& b) noexcept;

 private:
  alignas(8) std::array<std::byte, 128> storage_{};  // a sockaddr_storage
  std::uint32_t len_ = 0;
  std::uint8_t net_ = 0;  // index into the network names
};

// resolve_result: what the resolvers return, for
// `auto [a, err] = net::resolve_udp_addr(...)`.
struct resolve_result {
  // addr is the address, or empty with err saying why.
  net::addr addr;
  // err: net::errc or a system error; false when addr is good.
  std::error_code err;
};

// resolve_udp_addr resolves "host:port" for "udp", "udp4" or "udp6" (Go's
// net.ResolveUDPAddr): the first address, IPv4 first for "udp". Names and
// service names resolve on a runtime::blocking helper.
resolve_result resolve_udp_addr(std::string_view network, std::string_view address);
// resolve_unix_addr makes the address of a unix socket path for "unix",
// "unixgram" or "unixpacket" (Go's net.ResolveUnixAddr); "@name" is
// abstract. Too long a path: std::errc::invalid_argument.
resolve_result resolve_unix_addr(std::string_view network, std::string_view path);

// ---- packet connections ----------------------------------------------------

// read_from_result: what read_from returns, for
// `auto [n, from, err] = pc.read_from(buf)`.
struct read_from_result {
  // n is the datagram's size (at most the buffer's).
  std::size_t n = 0;
  // addr is the sender; empty for an unnamed unix socket.
  net::addr addr;
  // err is why nothing was read (false: a datagram was).
  std::error_code err;
};

// packet_conn is an unconnected datagram socket ("udp*" or "unixgram"):
// Go's net.PacketConn. A shared handle like conn, with the same
// concurrency guarantees, deadlines and close.
class packet_conn {
 public:
  // packet_conn() is no socket; the other constructor is for the implementation.
  packet_conn() = default;
  explicit packet_conn(std::shared_ptr<detail::netfd> fd) noexcept : fd_(std::move(fd)) {}

  // read_from waits for one datagram and returns its size and sender. What
  // does not fit in buf is dropped: n == buf.size() and no error (Go on
  // Linux reports a truncated datagram no other way). An empty datagram
  // gives n == 0 and no error.
  read_from_result read_from(std::span<std::byte> buf) const;
  read_from_result read_from(std::span<char> buf) const;
  // write_to sends buf as one datagram to a (from resolve_udp_addr,
  // resolve_unix_addr or read_from). An IPv4 address is sent as IPv4-mapped
  // from a dual-stack socket. Too large: std::errc::message_size.
  io_result write_to(std::span<const std::byte> buf, const net::addr& a) const;
  io_result write_to(std::string_view s, const net::addr& a) const;

  // close: as conn::close (blocked read_from/write_to return errc::closed).
  std::error_code close() const;
  std::error_code set_deadline(time::time_point t) const;
  std::error_code set_read_deadline(time::time_point t) const;
  std::error_code set_write_deadline(time::time_point t) const;
  // local_addr: "127.0.0.1:41234" (the port chosen for ":0"), a path.
  std::string local_addr() const;

  // A packet_conn is true when it is a socket (closed or not); equal
  // handles share it.
  explicit operator bool() const noexcept { return fd_ != nullptr; }
  friend bool operator==(const packet_conn&, const packet_conn&) = default;

 private:
  std::shared_ptr<detail::netfd> fd_;
};

// listen_packet_result: what listen_packet returns, for
// `auto [pc, err] = net::listen_packet(...)`.
struct listen_packet_result {
  // pc is the bound socket, or none with err saying why.
  net::packet_conn pc;
  // err: net::errc or a system error; false when pc is good.
  std::error_code err;
};

// listen_packet binds a datagram socket (Go's net.ListenPacket): network
// "udp", "udp4", "udp6" with "host:port" (port 0: a free one; an empty host:
// every address, dual-stack for "udp"), or "unixgram" with a path. The
// socket file of a unixgram socket stays after close, as in Go.
listen_packet_result listen_packet(std::string_view network, std::string_view address);

}  // namespace csp::net
