// blocking_test.cpp — runtime::blocking: calls run on helper threads in
// parallel while their goroutines park, workers stay free, results and
// exceptions come back, plain threads call inline.
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <csp/go.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using namespace csp;
using csp_test::must;
using csp_test::wait_for;
using csp_test::with_procs;

TEST_CASE("blocking: many calls run at once on helpers while their goroutines park") {
  // Each call waits until `want` calls are inside at the same time: that
  // only ends if they really run in parallel, whatever the machine's speed.
  constexpr int want = 16;
  with_procs({1, 2}, [](int) {
    std::atomic<int> inside{0};
    sync::wait_group wg;
    wg.add(want);
    for (int i = 0; i < want; ++i) {
      go([&] {
        defer d{[&] { wg.done(); }};
        bool all_met = runtime::blocking([&] {
          inside.fetch_add(1);
          return wait_for([&] { return inside.load() >= want; }, 20s);
        });
        CHECK(all_met);
      });
    }
    wg.wait();
  });
}

TEST_CASE("blocking: the worker stays free for other goroutines while a call blocks") {
  with_procs({1}, [](int) {
    std::atomic<bool> released{false};
    auto result = make_chan<int>(1);
    go([&] {
      int v = runtime::blocking([&] {
        // Blocks its helper until a goroutine on the (only) worker acts.
        while (!released.load()) std::this_thread::sleep_for(1ms);
        return 42;
      });
      result.send(v);
    });
    must(csp_test::wait_state("syscall", 1), "goroutine parked in blocking");
    go([&] { released.store(true); });  // runs on the one worker meanwhile
    CHECK(result.recv().value() == 42);
  });
}

TEST_CASE("blocking: exceptions reach the caller; values, move-only values and references come back") {
  auto out = make_chan<std::string>(4);
  int target = 0;
  go([&] {
    try {
      runtime::blocking([]() -> int { throw std::runtime_error("from the helper"); });
      out.send("no exception");
    } catch (const std::runtime_error& e) {
      out.send(e.what());
    }
    auto p = runtime::blocking([] { return std::make_unique<int>(7); });
    out.send(std::to_string(*p));
    int& r = runtime::blocking([&]() -> int& { return target; });
    r = 9;
    runtime::blocking([] {});
    out.send(runtime::blocking([] { return std::string("done"); }));
  });
  CHECK(out.recv().value() == "from the helper");
  CHECK(out.recv().value() == "7");
  CHECK(out.recv().value() == "done");
  CHECK(target == 9);
}

TEST_CASE("blocking: from a plain thread, f runs inline on that thread") {
  auto id = runtime::blocking([] { return std::this_thread::get_id(); });
  CHECK(id == std::this_thread::get_id());
  CHECK_THROWS_AS(runtime::blocking([] { throw std::logic_error("inline"); }), std::logic_error);
}
