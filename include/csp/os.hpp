// csp/os.hpp — the part of Go's os package that rides on the netpoller:
// pipes and files over pollable descriptors.
//
//   auto [r, w, err] = os::pipe();                 // r, w, err := os.Pipe()
//   // hand w.fd() (now blocking, as Go's Fd) to a child as its stdout
//   // (posix_spawn_file_actions_adddup2), then w.close() here
//   std::array<char, 4096> buf;
//   auto [n, err2] = r.read(buf);                  // parks in "IO wait"; errc::eof at the end
//
//   os::file f = os::new_file(fd, "eventfd");      // os.NewFile(uintptr(fd), "eventfd")
//
// A read that waits parks the goroutine and frees its worker, as a socket
// read does: a goroutine reading a child's stdout never stalls the others,
// even at GOMAXPROCS=1. Errors are net:: error codes: net::errc::eof at the
// end (io.EOF), net::errc::file_closed after close (os.ErrClosed),
// net::errc::timeout for a deadline (os.ErrDeadlineExceeded), kernel errors
// in std::system_category() (a write to a pipe whose reader has gone is
// std::errc::broken_pipe, never SIGPIPE).
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "csp/net.hpp"
#include "csp/time.hpp"

namespace csp::os {

// file is an open descriptor: a shared handle, like conn (copies are the
// same file; the last handle closes it if close() was not called; reads are
// serialized with reads and writes with writes; every member is const and
// safe from any number of goroutines and threads).
//
// Pollable files (pipes, FIFOs, sockets, eventfds, ttys opened non-blocking)
// wait on the netpoller and support deadlines; close wakes a waiting read
// or write. A file the poller cannot watch (a regular file, or an fd that
// new_file found in blocking mode) does each read and write on a
// runtime::blocking helper instead, as Go hands off its P for a blocking
// syscall; there, deadlines are net::errc::no_deadline and close cannot
// interrupt a call in progress (as in Go).
class file {
 public:
  // file() is no file; the other constructor is for the implementation.
  file() = default;
  file(std::shared_ptr<detail::netfd> fd, std::string name) noexcept
      : fd_(std::move(fd)), name_(std::make_shared<const std::string>(std::move(name))) {}

  // read: up to buf.size() bytes, n > 0 with no error, or n == 0 and an
  // error (net::errc::eof at the end).
  net::io_result read(std::span<std::byte> buf) const;
  net::io_result read(std::span<char> buf) const;
  // write: all of buf, or how much and why it stopped.
  net::io_result write(std::span<const std::byte> buf) const;
  net::io_result write(std::string_view s) const;
  // close: waiting calls return net::errc::file_closed; a second close
  // returns it too.
  std::error_code close() const;
  std::error_code set_deadline(time::time_point t) const;
  std::error_code set_read_deadline(time::time_point t) const;
  std::error_code set_write_deadline(time::time_point t) const;

  // fd is the descriptor number (Go's Fd), -1 once closed: for handing it
  // to a child (dup2) or a call csp does not wrap. Do not close it. As Go's
  // Fd, it first puts the descriptor in blocking mode, because a child
  // shares the mode and most programs fail on EAGAIN: from then on this
  // file's reads and writes run on runtime::blocking helpers and its
  // deadlines are net::errc::no_deadline. (Hand the child its end; keep
  // using the other end here, which stays on the poller.)
  int fd() const;
  // name is the name given to new_file ("|0" and "|1" for a pipe's ends,
  // as Go names them).
  const std::string& name() const noexcept;

  // A file is true when it is one (closed or not); equal handles share it.
  explicit operator bool() const noexcept { return fd_ != nullptr; }
  friend bool operator==(const file& a, const file& b) noexcept { return a.fd_ == b.fd_; }

 private:
  std::shared_ptr<detail::netfd> fd_;
  std::shared_ptr<const std::string> name_;
};

// pipe_result: what pipe returns, for `auto [r, w, err] = os::pipe()`.
struct pipe_result {
  // r is the read end, or none with err saying why.
  file r;
  // w is the write end, or none with err saying why.
  file w;
  // err: a system error (too_many_files_open, ...); false when both are good.
  std::error_code err;
};

// pipe makes a connected pair of files (Go's os.Pipe): bytes written to w
// are read from r. Both ends are non-blocking, close-on-exec and on the
// poller.
pipe_result pipe();

// new_file takes ownership of fd (Go's os.NewFile) and returns a file for
// it: on the poller if fd is in non-blocking mode and pollable, otherwise
// using runtime::blocking helpers (see file). fd < 0 gives an empty file.
file new_file(int fd, std::string name);

}  // namespace csp::os
