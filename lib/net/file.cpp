// file.cpp — os::file, os::pipe and os::new_file (csp/os.hpp): files on
// the netpoller. They share netfd with the sockets, as Go's os.File and
// net.Conn share internal/poll.FD; netfd.hpp says how a file differs.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "csp/os.hpp"
#include "net/netfd.hpp"

namespace csp::os {

namespace {

std::error_code file_closed() noexcept { return net::errc::file_closed; }

const std::string& no_name() {
  static const std::string empty;
  return empty;
}

}  // namespace

net::io_result file::read(std::span<std::byte> buf) const {
  if (!fd_) return {0, file_closed()};
  return fd_->read(buf);
}

net::io_result file::read(std::span<char> buf) const { return read(std::as_writable_bytes(buf)); }

net::io_result file::write(std::span<const std::byte> buf) const {
  if (!fd_) return {0, file_closed()};
  return fd_->write(buf);
}

net::io_result file::write(std::string_view s) const { return write(std::as_bytes(std::span<const char>(s))); }

std::error_code file::close() const { return fd_ ? fd_->close() : file_closed(); }

std::error_code file::set_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(detail::deadline_ns(t), detail::read_bit | detail::write_bit) : file_closed();
}

std::error_code file::set_read_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(detail::deadline_ns(t), detail::read_bit) : file_closed();
}

std::error_code file::set_write_deadline(time::time_point t) const {
  return fd_ ? fd_->set_deadline(detail::deadline_ns(t), detail::write_bit) : file_closed();
}

int file::fd() const {
  if (!fd_) return -1;
  (void)fd_->set_blocking();  // fails only once closed: then -1 below
  return fd_->fd_if_open();
}

const std::string& file::name() const noexcept { return name_ ? *name_ : no_name(); }

pipe_result pipe() {
  int p[2];
  if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return {{}, {}, detail::sys_error(errno)};
  std::error_code err;
  auto r = detail::netfd::open_file(p[0], err);
  if (!r) {
    ::close(p[1]);
    return {{}, {}, err};
  }
  auto w = detail::netfd::open_file(p[1], err);
  if (!w) {
    r->close();
    return {{}, {}, err};
  }
  return {file(std::move(r), "|0"), file(std::move(w), "|1"), {}};
}

file new_file(int fd, std::string name) {
  if (fd < 0) return {};
  std::error_code err;
  auto f = detail::netfd::open_file(fd, err);
  if (!f) return {};  // fcntl/fstat failed: not an open descriptor (Go: nil)
  return file(std::move(f), std::move(name));
}

}  // namespace csp::os
