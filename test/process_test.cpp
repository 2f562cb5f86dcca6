// process_test.cpp — how a csp program ends: Go's exit statuses and messages.
#include <doctest/doctest.h>

#include <string>

#include "test_util.hpp"

using csp_test::run_child;

namespace {
bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }
}  // namespace

TEST_CASE("process: an exception escaping a goroutine is a panic: message, goroutine, status 2") {
  auto r = run_child("panic");
  CHECK(r.exit_status == 2);
  CHECK(has(r.out, "panic: something went wrong"));
  CHECK(has(r.out, "goroutine "));
  CHECK(has(r.out, "[running]:"));
  CHECK(has(r.out, "created at "));
  CHECK(has(r.out, "crash_child.cpp:"));
}

TEST_CASE("process: a non-std exception escaping a goroutine is a panic too") {
  auto r = run_child("panic_unknown");
  CHECK(r.exit_status == 2);
  CHECK(has(r.out, "panic: exception of a type not derived from std::exception"));
}

TEST_CASE("process: CSP_LEAKCHECK=1 prints the leaked goroutines when main returns") {
  auto r = run_child("leakcheck", {"CSP_LEAKCHECK=1"});
  CHECK(r.exit_status == 0);
  CHECK(has(r.out, "main done"));
  CHECK(has(r.out, "csp: leak check: 1 leaked goroutine (blocked forever on channels no other task holds)"));
  CHECK(has(r.out, "[chan send, leaked]:"));
  CHECK(has(r.out, "crash_child.cpp:"));
}

TEST_CASE("process: CSP_LEAKCHECK=1 reports nothing for a goroutine a global's channel can still wake") {
  auto r = run_child("leakcheck_clean", {"CSP_LEAKCHECK=1"});
  CHECK(r.exit_status == 0);
  CHECK(has(r.out, "csp: leak check: no leaked goroutines"));
  CHECK_FALSE(has(r.out, "leaked]"));
}

TEST_CASE("process: without CSP_LEAKCHECK nothing is printed at exit") {
  auto r = run_child("leakcheck");
  CHECK(r.exit_status == 0);
  CHECK_FALSE(has(r.out, "leak check"));
}

TEST_CASE("process: main blocked forever with no goroutines is a deadlock") {
  auto r = run_child("deadlock_main_only");
  CHECK(r.exit_status == 2);
  CHECK(has(r.out, "fatal error: all goroutines are asleep - deadlock!"));
}

TEST_CASE("process: all goroutines and main blocked is a deadlock, with the goroutine dump") {
  auto r = run_child("deadlock");
  CHECK(r.exit_status == 2);
  CHECK(has(r.out, "fatal error: all goroutines are asleep - deadlock!"));
  CHECK(has(r.out, "goroutine 1 [chan receive"));
  CHECK(has(r.out, "[chan send, "));
  CHECK(has(r.out, "main thread"));
}

TEST_CASE("process: main blocked on a channel nobody sends on is a deadlock, as in Go") {
  auto r = run_child("deadlock_chan");
  CHECK(r.exit_status == 2);
  CHECK(has(r.out, "fatal error: all goroutines are asleep - deadlock!"));
  CHECK(has(r.out, "goroutine 1 [chan receive"));
  CHECK(has(r.out, "[chan send, "));
}

TEST_CASE("process: main locking a mutex it holds (and a goroutine waiting too) is a deadlock") {
  auto r = run_child("deadlock_mutex");
  CHECK(r.exit_status == 2);
  CHECK(has(r.out, "fatal error: all goroutines are asleep - deadlock!"));
  CHECK(has(r.out, "[sync.Mutex.Lock"));
}

TEST_CASE("process: no deadlock report while a timer can still wake someone") {
  auto r = run_child("no_deadlock_timer");
  CHECK(r.exit_status == 0);
  CHECK(has(r.out, "timer fired"));
  CHECK_FALSE(has(r.out, "deadlock"));
}

TEST_CASE("process: no deadlock report while another thread can still act") {
  auto r = run_child("no_deadlock_other_thread");
  CHECK(r.exit_status == 0);
  CHECK(has(r.out, "woken"));
  CHECK_FALSE(has(r.out, "deadlock"));
}

TEST_CASE("process: main returning abandons running and blocked goroutines and exits 0") {
  auto r = run_child("main_returns");
  CHECK(r.exit_status == 0);
  CHECK(has(r.out, "main done"));
}

#if !defined(CSP_TSAN) && !defined(CSP_ASAN)
// Sanitizers own SIGSEGV and report overflows their own way.
TEST_CASE("process: a goroutine's stack overflow is named, not silent corruption") {
  auto r = run_child("stack_overflow", {"CSP_STACK_SIZE=64k"});
  CHECK(r.exit_status == 2);
  CHECK(has(r.out, "fatal error: goroutine "));
  CHECK(has(r.out, " stack overflow"));
}
#endif

TEST_CASE("process: SIGQUIT prints every goroutine and exits 2, as Go") {
  auto r = run_child("sigquit");
  CHECK(r.exit_status == 2);
  CHECK(has(r.out, "SIGQUIT: quit"));
  CHECK(has(r.out, "[select, "));
}

TEST_CASE("process: nonsense GOMAXPROCS and CSP_STACK_SIZE are rejected with a message") {
  auto r = run_child("bad_env", {"GOMAXPROCS=lots", "CSP_STACK_SIZE=12"});
  CHECK(r.exit_status == 0);
  CHECK(has(r.out, "csp: ignoring GOMAXPROCS=lots"));
  CHECK(has(r.out, "csp: ignoring CSP_STACK_SIZE=12"));
}
