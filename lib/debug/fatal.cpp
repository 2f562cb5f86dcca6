#include "debug/fatal.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace csp::detail {

void write_stderr(const char* s) noexcept {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

void fatal_internal(const char* what, const char* file, int line) noexcept {
  char buf[512];
  std::snprintf(buf, sizeof buf, "csp: internal error: %s (%s:%d)\n", what, file, line);
  write_stderr(buf);
  std::abort();
}

std::atomic<bool> forked_away{false};

void fatal_forked_away() noexcept {
  // No fflush: the child's stdio buffers are copies of the parent's, and
  // flushing them would print the parent's pending output twice.
  write_stderr(
      "fatal error: csp used in a child process after fork(): the runtime's threads do not exist "
      "there; a child of a process running csp may only call exec or _exit\n");
  ::_exit(2);
}

void fatal_user(const char* what) noexcept {
  std::fflush(nullptr);
  write_stderr("fatal error: ");
  write_stderr(what);
  write_stderr("\n");
  ::_exit(2);
}

}  // namespace csp::detail
