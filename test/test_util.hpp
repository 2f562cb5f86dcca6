// test_util.hpp — fixtures shared by the suites.
#pragma once

#include <doctest/doctest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include <csp/runtime.hpp>

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
// the child inside sanitizer runtimes before it reaches exec.
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
  int rc = ::posix_spawn(&pid, path, &actions, nullptr, argv, envp.data());
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
