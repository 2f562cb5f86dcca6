// test_util.hpp — fixtures shared by the suites.
#pragma once

#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include <csp/panic.hpp>
#include <csp/runtime.hpp>

#include "sched/park.hpp"

namespace csp_test {

// sanitizer_scale divides the sizes of heavy tests in sanitized builds:
// ASan runs several times slower, and under TSan each goroutine's fiber
// costs about 0.4 ms to create.
#if defined(CSP_TSAN)
inline constexpr long sanitizer_scale = 200;
#elif defined(CSP_ASAN)
inline constexpr long sanitizer_scale = 10;
#else
inline constexpr long sanitizer_scale = 1;
#endif

// vm_rss_kib returns the process's resident set size (VmRSS), in KiB.
inline long vm_rss_kib() {
  long kib = -1;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
    std::fclose(f);
  }
  return kib;
}

// wait_for polls `cond` for up to `limit`. From a goroutine it yields the
// worker between polls, so it works at gomaxprocs 1; from a thread it sleeps.
template <class F>
bool wait_for(F cond, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    if (csp::detail::in_goroutine()) csp::runtime::gosched();
    else std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

// must ends the process with a goroutine dump when a wait timed out: where
// goroutines still refer to the test's stack, unwinding (as a failed
// REQUIRE would) is not an option.
inline void must(bool ok, const char* what) {
  if (ok) return;
  std::cerr << "timed out waiting: " << what << "\n";
  csp::runtime::dump_goroutines(std::cerr);
  std::abort();
}

// count_state counts the goroutines the dump shows waiting in `state`
// (Go's words, e.g. "chan receive").
inline int count_state(const std::string& state) {
  std::ostringstream os;
  csp::runtime::dump_goroutines(os);
  std::string dump = os.str(), key = "[" + state + ",";
  int n = 0;
  for (auto pos = dump.find(key); pos != std::string::npos; pos = dump.find(key, pos + 1)) ++n;
  return n;
}

// wait_state waits (up to 10 s) until at least n goroutines are in `state`:
// how a test knows that goroutines have parked where it expects.
inline bool wait_state(const std::string& state, int n) {
  return wait_for([&] { return count_state(state) >= n; }, std::chrono::seconds(10));
}

// panic_message runs f and returns the csp::panic message it threw.
inline std::string panic_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const csp::panic& p) {
    return p.what();
  }
  return "(no panic)";
}

// fragile's move constructor throws while throws_left > 0, leaving its
// source intact (the strong guarantee the channel relies on). A moved-from
// fragile holds -1, so a duplicated or lost value shows.
struct fragile {
  static inline std::atomic<int> throws_left{0};
  int v;
  explicit fragile(int x) : v(x) {}
  fragile(fragile&& o) : v(o.v) {
    if (throws_left.load() > 0) {
      throws_left.fetch_sub(1);
      throw std::runtime_error("fragile move");
    }
    o.v = -1;
  }
  fragile& operator=(fragile&&) = delete;
};

// wait_goroutines_back waits (up to 10 s) until num_goroutine() is back to
// `baseline`: goroutines that a test started have all finished.
inline bool wait_goroutines_back(int baseline) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (csp::runtime::num_goroutine() > baseline) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// with_procs runs body once per worker count (as marl's fixtures do) and
// checks at each teardown that no goroutine it started is left behind.
template <class F>
void with_procs(std::initializer_list<int> procs, F&& body) {
  for (int p : procs) {
    CAPTURE(p);
    int before = csp::runtime::gomaxprocs(p);
    int baseline = csp::runtime::num_goroutine();
    body(p);
    CHECK_MESSAGE(wait_goroutines_back(baseline), "goroutines leaked at gomaxprocs=", p);
    csp::runtime::gomaxprocs(before);
  }
}

template <class F>
void with_procs(F&& body) {
  with_procs({1, 2, 4}, std::forward<F>(body));
}

struct child_result {
  int exit_status = -1;  // exit code, or 128+signal when killed
  std::string out;       // stdout and stderr together
};

// run_child runs the crash_child program (path in $CSP_CRASH_CHILD) with
// `mode` and extra environment entries, and returns how it ended and what it
// printed. posix_spawn, not fork: forking a multithreaded process can hang
// the child inside sanitizer runtimes before it reaches exec. The child
// starts with default signal dispositions and an empty mask, whatever the
// test runner inherited (a shell's background job ignores SIGQUIT, which
// a child would otherwise inherit, and the SIGQUIT test would see no dump).
inline child_result run_child(const std::string& mode, const std::vector<std::string>& env = {}) {
  child_result r;
  const char* path = std::getenv("CSP_CRASH_CHILD");
  REQUIRE_MESSAGE(path != nullptr, "CSP_CRASH_CHILD is not set (run through meson test)");
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& e : env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string mode_arg = mode;
  char* argv[] = {const_cast<char*>(path), mode_arg.data(), nullptr};
  pid_t pid = -1;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  int rc = ::posix_spawn(&pid, path, &actions, &attr, argv, envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  REQUIRE(rc == 0);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.exit_status = 128 + WTERMSIG(status);
  return r;
}

}  // namespace csp_test
