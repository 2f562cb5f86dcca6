// leak_test.cpp — runtime::leaked_goroutines(): goroutines blocked forever
// on channels no other task holds are reported; any that could still be
// woken never are.
//
// A leaked goroutine cannot be woken through handles, by definition; to end
// each test cleanly the tests keep the channel's raw core pointer (which the
// detector does not count, and which no user code has) and use it to take a
// new reference and unblock the goroutine once the check is done.
#include <thread>
#include <doctest/doctest.h>

#include <sstream>

#include <csp/go.hpp>

#include "test_util.hpp"

using namespace csp;
using namespace std::chrono_literals;
using csp_test::must;
using csp_test::wait_for;

namespace {

// rescue takes a new reference to a channel the tests can no longer reach
// through a handle, so that a leaked goroutine can be unblocked.
struct rescue {
  detail::chan_core* c;
  explicit rescue(detail::chan_core* core) : c(core) { detail::chan_retain(c); }
  ~rescue() { detail::chan_release(c); }
  void recv_int() { std::optional<int> v; detail::chan_recv(c, &v); }
  void send_int(int x) { detail::chan_send(c, &x, &detail::move_source<int>); }
};

bool reported(std::uint64_t line) {
  for (const auto& l : runtime::leaked_goroutines())
    if (l.created_at.line() == line) return true;
  return false;
}

const runtime::leaked_goroutine* find_leak(const std::vector<runtime::leaked_goroutine>& ls, std::uint64_t line) {
  for (const auto& l : ls)
    if (l.created_at.line() == line) return &l;
  return nullptr;
}

// start_search is the common leak: it starts a worker that sends its result
// on an unbuffered channel, then gives up (a timeout) and returns without
// receiving. The worker blocks in its send forever.
detail::chan_core* start_search(std::uint64_t& line) {
  auto result = make_chan<int>();
  line = __LINE__ + 1;
  go([result] { result << 42; });
  std::optional<int> v;
  auto gate = make_chan<>();  // never ready: stands for a reply that is too slow
  select(recv(gate), default_case);
  return result.core();      // only the test's rescue uses this
}

}  // namespace

TEST_CASE("leak: a worker left sending on a channel whose receiver returned is reported") {
  std::uint64_t line = 0;
  detail::chan_core* c = start_search(line);
  must(wait_for([&] { return reported(line); }), "the abandoned worker to be reported");
  auto leaks = runtime::leaked_goroutines();
  const auto* l = find_leak(leaks, line);
  REQUIRE(l != nullptr);
  CHECK(l->wait_reason == "chan send");
  CHECK(std::string(l->created_at.file_name()).find("leak_test.cpp") != std::string::npos);
  CHECK(std::string(l->created_at.function_name()).find("start_search") != std::string::npos);

  std::ostringstream dump;
  runtime::dump_goroutines(dump);
  CHECK(dump.str().find("leaked: blocked forever") != std::string::npos);

  int base = runtime::num_goroutine();
  rescue r(c);
  r.recv_int();
  must(csp_test::wait_goroutines_back(base - 1), "the rescued worker to finish");
}

TEST_CASE("leak: a slow goroutine, blocked on a channel main still holds, is not reported") {
  csp_test::with_procs([](int) {
    auto ch = make_chan<int>();
    std::uint64_t line = __LINE__ + 1;
    go([ch] { ch << 7; });
    must(csp_test::wait_state("chan send", 1), "the sender to block");
    CHECK_FALSE(reported(line));
    CHECK(ch.recv() == 7);
  });
}

TEST_CASE("leak: a goroutine blocked on a channel that a sleeping or timer-waiting goroutine holds is not reported") {
  csp_test::with_procs([](int) {
    auto ch = make_chan<int>();
    auto gate = make_chan<>();
    auto done = make_chan<>();
    std::uint64_t receiver = __LINE__ + 1;
    go([ch, done] { (void)ch.recv(); done.close(); });
    // The sender waits on a timer channel (which can fire without any
    // handle) and on gate; only then does it send.
    go([ch, gate] {
      select(recv(time::after(1h)), recv(gate));
      ch << 1;
    });
    std::uint64_t sleeper = __LINE__ + 1;
    go([ch] { time::sleep(30ms); (void)ch.len(); });
    ch = {};  // main keeps no handle to ch
    must(csp_test::wait_state("select", 1), "the sender to wait");
    for (int i = 0; i < 20; ++i) {
      CHECK_FALSE(reported(receiver));
      CHECK_FALSE(reported(sleeper));
      std::this_thread::sleep_for(1ms);
    }
    gate.close();
    (void)done.recv();
  });
}

TEST_CASE("leak: two goroutines blocked on each other's channels with no outside handle are both reported") {
  auto a = make_chan<int>();
  auto b = make_chan<int>();
  std::uint64_t first = __LINE__ + 1;
  go([a, b] { (void)a.recv(); (void)b.len(); });
  std::uint64_t second = __LINE__ + 1;
  go([a, b] { (void)b.recv(); (void)a.len(); });
  detail::chan_core* ca = a.core();
  detail::chan_core* cb = b.core();
  must(csp_test::wait_state("chan receive", 2), "both to block");
  // While main holds a and b, neither is leaked.
  CHECK_FALSE(reported(first));
  CHECK_FALSE(reported(second));
  rescue ra(ca), rb(cb);  // hold the channels past the handles
  a = {};
  CHECK_FALSE(reported(first));  // b is still main's: the second may wake and use a
  b = {};
  // Now only the rescue's uncounted references remain besides the closures:
  // still not reported (refcounts exceed what the closures hold).
  CHECK_FALSE(reported(first));
  // Drop the rescues' references too: what holds a and b is exactly the two
  // closures. Keep raw pointers to bring them back afterwards.
  detail::chan_release(ca);
  detail::chan_release(cb);
  ra.c = nullptr;
  rb.c = nullptr;
  must(wait_for([&] { return reported(first) && reported(second); }), "both to be reported");
  auto leaks = runtime::leaked_goroutines();
  CHECK(find_leak(leaks, first)->wait_reason == "chan receive");
  CHECK(find_leak(leaks, second)->wait_reason == "chan receive");

  int base = runtime::num_goroutine();
  rescue wa(ca), wb(cb);
  wa.send_int(1);
  wb.send_int(2);
  must(csp_test::wait_goroutines_back(base - 2), "the rescued pair to finish");
}

TEST_CASE("leak: a goroutine whose captured handle a child uses by reference is not reported") {
  auto gate = make_chan<>();
  auto done = make_chan<>();
  std::uint64_t line = __LINE__ + 1;
  go([ch = make_chan<int>(), gate, done] {
    // The child reaches ch through a reference into this closure: it holds
    // no handle of its own, but it will send.
    go([&ch, gate] {
      (void)gate.recv();
      ch << 1;
    });
    (void)ch.recv();
    done.close();
  });
  must(csp_test::wait_state("chan receive", 2), "parent and child to block");
  for (int i = 0; i < 10; ++i) CHECK_FALSE(reported(line));
  gate.close();
  (void)done.recv();
}

TEST_CASE("leak: a select over abandoned channels is reported; one with a live case is not") {
  auto live = make_chan<int>();
  detail::chan_core* dead_core = nullptr;
  std::uint64_t with_live = 0, all_dead = 0;
  {
    auto dead = make_chan<int>(), other_dead = make_chan<int>(), dead_too = make_chan<int>();
    dead_core = dead.core();
    with_live = __LINE__ + 1;
    go([dead_too, live] { std::optional<int> v; select(recv(dead_too, v), recv(live, v)); });
    all_dead = __LINE__ + 1;
    go([dead, other_dead] { std::optional<int> v; select(recv(other_dead, v), send(dead, 3)); });
  }
  must(wait_for([&] { return reported(all_dead); }), "the dead select to be reported");
  CHECK_FALSE(reported(with_live));
  CHECK(find_leak(runtime::leaked_goroutines(), all_dead)->wait_reason == "select");

  int base = runtime::num_goroutine();
  live << 1;  // wakes the first
  rescue r(dead_core);
  r.recv_int();  // wakes the second (its send case)
  must(csp_test::wait_goroutines_back(base - 2), "both selects to finish");
}

TEST_CASE("stats: counters move with the work done") {
  csp_test::with_procs([](int) {
    auto before = runtime::stats();
    auto ping = make_chan<int>(), pong = make_chan<int>();
    constexpr int rounds = 100;
    sync::wait_group wg;
    wg.add(2);
    // Two goroutines bounce a value: in every round one of them must park
    // (an unbuffered rendezvous) and be switched back in.
    // Started from a fresh thread, which holds no worker's slot (main may
    // keep one from its last block: docs/runtime.md, "Blocked threads run
    // goroutines"), so both go through the global queue.
    std::thread([&] {
      go([=, &wg] {
        for (int i = 0; i < rounds; ++i) pong << ping.recv().value_or(0);
        wg.done();
      });
      go([=, &wg] {
        for (int i = 0; i < rounds; ++i) {
          ping << i;
          (void)pong.recv();
        }
        wg.done();
      });
    }).join();
    wg.wait();
    must(csp_test::wait_goroutines_back(1), "the goroutines to exit");
    auto after = runtime::stats();
    auto chan_parks = [](runtime::scheduler_stats& s) {
      return s.parks_by_reason["chan receive"] + s.parks_by_reason["chan send"];
    };
    CHECK(after.goroutines_created - before.goroutines_created == 2);
    CHECK(after.goroutines_exited - before.goroutines_exited == 2);
    CHECK(chan_parks(after) - chan_parks(before) >= rounds);
    CHECK(after.parks - before.parks >= rounds);
    CHECK(after.context_switches - before.context_switches >= rounds);
    CHECK(after.wakeups - before.wakeups >= rounds);
    CHECK(after.steals >= before.steals);
    CHECK(after.global_queue_pushes - before.global_queue_pushes >= 2);  // go() from a plain thread goes there
  });
}
