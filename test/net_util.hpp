// net_util.hpp — fixtures shared by the net:: suites (net_test.cpp,
// net_packet_test.cpp, os_file_test.cpp).
#pragma once

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include <csp/go.hpp>

#include "test_util.hpp"

namespace csp_test {

using namespace csp;

// raise_fd_limit lifts the soft fd limit to the hard one: a thousand
// connections need two thousand fds, more than a default 1024.
[[maybe_unused]] inline const bool fd_limit_raised = [] {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  return true;
}();

inline int open_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

inline csp::net::listener must_listen(const char* addr = "127.0.0.1:0") {
  auto [ln, err] = net::listen("tcp", addr);
  REQUIRE_MESSAGE(!err, err.message());
  return ln;
}

inline csp::net::conn must_dial(const std::string& addr) {
  auto [c, err] = net::dial("tcp", addr);
  REQUIRE_MESSAGE(!err, err.message());
  return c;
}

// read_to_eof reads c until end of stream, 64 bytes at a time (so a
// short message is one short read), and returns what it read, with an
// error other than eof appended as "<message>".
inline std::string read_to_eof(const net::conn& c) {
  std::string got;
  std::array<char, 64> buf;
  for (;;) {
    auto [n, err] = c.read(buf);
    if (err == net::errc::eof) return got;
    if (err) return got + "<" + err.message() + ">";
    got.append(buf.data(), n);
  }
}

// read_exactly reads n bytes (or fails the test).
inline std::string read_exactly(const net::conn& c, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    auto [k, err] = c.read(std::span<char>(out.data() + got, n - got));
    if (err) return out.substr(0, got) + "<" + err.message() + ">";
    got += k;
  }
  return out;
}

// echo_server accepts until the listener closes (any stream network),
// echoing each conn in its own goroutine. wg counts the server's goroutines.
inline void echo_server(csp::net::listener ln, csp::sync::wait_group& wg) {
  wg.add(1);
  go([ln, &wg] {
    defer d{[&] { wg.done(); }};
    for (;;) {
      auto [c, err] = ln.accept();
      if (err) return;
      wg.add(1);
      go([c, &wg] {
        defer d2{[&] { wg.done(); }};
        std::array<char, 4096> buf;
        for (;;) {
          auto [n, rerr] = c.read(buf);
          if (rerr) break;
          if (c.write(std::string_view(buf.data(), n)).err) break;
        }
        c.close();
      });
    }
  });
}

// cpu_us_while_idle lets spinning workers settle, then returns the CPU time
// (user + system, all threads) the process used while the calling thread
// slept for `span`.
inline long cpu_us_while_idle(std::chrono::milliseconds span) {
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto us = [] {
    rusage r{};
    ::getrusage(RUSAGE_SELF, &r);
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1'000'000L + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
  };
  long before = us();
  std::this_thread::sleep_for(span);
  return us() - before;
}

// temp_dir is a fresh directory under /tmp for socket files, removed with
// whatever is left in it.
class temp_dir {
 public:
  temp_dir() {
    char tmpl[] = "/tmp/csp-net-XXXXXX";
    if (::mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~temp_dir() {
    if (DIR* d = ::opendir(path_.c_str())) {
      while (dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') ::unlink((path_ + "/" + e->d_name).c_str());
      ::closedir(d);
    }
    ::rmdir(path_.c_str());
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace csp_test
