// goroutine_test.cpp — spawning, parking and scheduling goroutines, using the
// runtime's own park/ready (channels are tested in chan_test.cpp).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <csp/chan.hpp>
#include <csp/goroutine.hpp>
#include <csp/runtime.hpp>
#include <csp/sync.hpp>

#include "fiber/stack_pool.hpp"

#include "park_event.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;

using csp_test::wait_for;

namespace {

constexpr long scale = csp_test::sanitizer_scale;

}  // namespace

TEST_CASE("goroutine: one million goroutines spawn and finish") {
  csp_test::with_procs({1, 2}, [](int) {
#if defined(CSP_TSAN)
    // Each goroutine costs TSan ~0.4 ms to create: 5,000 (the usual scale)
    // took over 20 s at load average 10, and this is not a TSan-shaped test.
    const long n = 1'000;
#else
    const long n = 1'000'000 / scale;
#endif
    std::atomic<long> done{0};
    for (long i = 0; i < n; ++i) csp::go([&done] { done.fetch_add(1); });
    // must, not CHECK: a timed-out wait that returned would leave the
    // remaining goroutines writing into this frame after it is gone (the
    // data race TSan once reported here on a loaded machine).
    csp_test::must(wait_for([&] { return done.load() == n; }), "every goroutine ran");
  });
}

TEST_CASE("goroutine: arguments are decay-copied and the closure is destroyed after the run") {
  std::atomic<int> sum{0};
  auto token = std::make_shared<int>(7);
  std::weak_ptr<int> weak = token;
  struct big { char pad[200]; int v; };  // larger than the inline closure buffer
  big b{};
  b.v = 5;
  csp::go([&sum](std::shared_ptr<int> t, big x, int y) { sum += *t + x.v + y; }, token, b, 30);
  token.reset();
  CHECK(wait_for([&] { return sum.load() == 42; }));
  // The goroutine's copy of the shared_ptr is released when it finishes.
  CHECK(wait_for([&] { return weak.expired(); }));
}

namespace {
std::atomic<int> named_function_runs{0};
void named_worker() { named_function_runs.fetch_add(1); }
}  // namespace

TEST_CASE("goroutine: go(f) with a bare function name starts a goroutine (no vexing parse)") {
  using csp::go;
  go(named_worker);  // a declaration if go were a class template
  csp::go(named_worker);
  CHECK(wait_for([] { return named_function_runs.load() == 2; }));
}

TEST_CASE("goroutine: 100,000 goroutines parked at once, then released") {
  csp_test::with_procs({1, 2}, [](int) {
    const int n = static_cast<int>(100'000 / scale);
    std::vector<csp_test::park_event> events(static_cast<std::size_t>(n));
    std::atomic<int> started{0}, finished{0};
    for (int i = 0; i < n; ++i)
      csp::go([&, i] {
        started.fetch_add(1);
        events[static_cast<std::size_t>(i)].wait();
        finished.fetch_add(1);
      });
    // must, not REQUIRE: a timed-out wait that unwound this frame would
    // leave n goroutines referring to `events` and the counters.
    csp_test::must(wait_for([&] { return started.load() == n; }), "all goroutines started");
    CHECK(csp::runtime::num_goroutine() >= n + 1);
    CHECK(finished.load() == 0);
    for (auto& e : events) e.notify();
    csp_test::must(wait_for([&] { return finished.load() == n; }), "all goroutines finished");
  });
}

TEST_CASE("goroutine: ping-pong between two goroutines") {
  csp_test::with_procs([](int) {
    const int rounds = 20'000;
    csp_test::park_event done;
    // Two goroutines hand a token back and forth with park/ready: each
    // round trip parks and readies both once.
    std::vector<std::unique_ptr<csp_test::park_event>> a, b;
    for (int i = 0; i < rounds; ++i) {
      a.push_back(std::make_unique<csp_test::park_event>());
      b.push_back(std::make_unique<csp_test::park_event>());
    }
    std::atomic<int> count{0};
    csp::go([&] {
      for (int i = 0; i < rounds; ++i) {
        a[static_cast<std::size_t>(i)]->notify();
        b[static_cast<std::size_t>(i)]->wait();
        count.fetch_add(1);
      }
      done.notify();
    });
    csp::go([&] {
      for (int i = 0; i < rounds; ++i) {
        a[static_cast<std::size_t>(i)]->wait();
        b[static_cast<std::size_t>(i)]->notify();
      }
    });
    done.wait();
    CHECK(count.load() == rounds);
  });
}

TEST_CASE("goroutine: ping-pong between a goroutine and a plain thread") {
  csp_test::with_procs({1, 2}, [](int) {
    const int rounds = 5'000;
    std::vector<std::unique_ptr<csp_test::park_event>> to_g, to_t;
    for (int i = 0; i < rounds; ++i) {
      to_g.push_back(std::make_unique<csp_test::park_event>());
      to_t.push_back(std::make_unique<csp_test::park_event>());
    }
    csp::go([&] {
      for (int i = 0; i < rounds; ++i) {
        to_g[static_cast<std::size_t>(i)]->wait();
        to_t[static_cast<std::size_t>(i)]->notify();
      }
    });
    std::thread t([&] {
      for (int i = 0; i < rounds; ++i) {
        to_g[static_cast<std::size_t>(i)]->notify();
        to_t[static_cast<std::size_t>(i)]->wait();
      }
    });
    t.join();
  });
}

TEST_CASE("scheduler: a goroutine busy on one worker does not stop the others (work stealing)") {
  csp::runtime::gomaxprocs(2);
  std::atomic<bool> stop{false};
  std::atomic<int> ran{0};
  csp::go([&] {
    // These land on this worker's own queue; only stealing can run them
    // while we hog the worker.
    for (int i = 0; i < 100; ++i) csp::go([&] { ran.fetch_add(1); });
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
    }
  });
  CHECK(wait_for([&] { return ran.load() == 100; }));
  stop = true;
  CHECK(csp_test::wait_goroutines_back(1));
}

TEST_CASE("scheduler: two goroutines readying each other forever do not starve a third") {
  // On one worker, each ready() goes to the run_next slot; without a bound
  // on consecutive run_next picks the third goroutine would never run.
  int before = csp::runtime::gomaxprocs(1);
  std::atomic<bool> stop{false};
  csp_test::park_event ping_started;
  std::atomic<bool> third_ran{false};
  struct pair_state {
    csp::detail::spin_mutex mu;
    csp::detail::task* parked = nullptr;
  } st;
  auto bounce = [&] {
    // Each side readies the other (if parked) then parks itself, forever.
    while (!stop.load()) {
      st.mu.lock();
      csp::detail::task* other = st.parked;
      if (other != nullptr) {
        st.parked = nullptr;
        st.mu.unlock();
        csp::detail::ready(other);
        st.mu.lock();
      }
      if (stop.load()) {
        st.mu.unlock();
        break;
      }
      st.parked = csp::detail::current_task();
      csp::detail::park_unlock(csp::detail::wait_reason::chan_receive, st.mu);
    }
    st.mu.lock();
    csp::detail::task* other = st.parked;
    st.parked = nullptr;
    st.mu.unlock();
    if (other) csp::detail::ready(other);
  };
  csp::go([&] {
    csp::go(bounce);
    csp::go(bounce);
    csp::go([&] { third_ran = true; });
  });
  CHECK(wait_for([&] { return third_ran.load(); }, 10s));
  stop = true;
  CHECK(csp_test::wait_goroutines_back(1));
  csp::runtime::gomaxprocs(before);
}

TEST_CASE("scheduler: a goroutine queued from a plain thread is not starved by yielders") {
  // main, a plain thread, queues 512 yielders and then a stopper on the
  // global queue; the yielders put themselves back there from the worker,
  // another thread. The queue is FIFO per pushing thread only
  // (sched/global_queue.hpp), so this holds it to taking every thread's
  // goroutines in bounded work: the stopper must run long before the
  // yielders have yielded `give_up` times. One worker and more yielders
  // than a batch take (half a local queue), so the worker's own sub-queue
  // never runs dry: a taker that drains sub-queues in a fixed order
  // (ConcurrentQueue without consumer tokens) starves main's goroutines
  // here and fails this check.
  int before = csp::runtime::gomaxprocs(1);
  constexpr int yielders = 512;
  constexpr long give_up = 2'000'000;  // yields; measured ~600 (a FIFO), ~800 (the tokens)
  std::atomic<bool> stop{false};
  std::atomic<long> yields{0};
  std::atomic<long> seen{-1};
  csp::sync::wait_group done;
  done.add(yielders + 1);
  for (int i = 0; i < yielders; ++i) {
    csp::go([&] {
      while (!stop.load() && yields.fetch_add(1) < give_up) csp::runtime::gosched();
      done.done();
    });
  }
  csp::go([&] {
    seen = yields.load();
    stop = true;
    done.done();
  });
  done.wait();
  CHECK(seen.load() < give_up);
  CHECK(csp_test::wait_goroutines_back(1));
  csp::runtime::gomaxprocs(before);
}

TEST_CASE("runtime: gomaxprocs changes under load") {
  int before = csp::runtime::gomaxprocs();
  CHECK(csp::runtime::gomaxprocs(0) == before);   // n < 1 only queries
  CHECK(csp::runtime::gomaxprocs(-3) == before);
  std::atomic<long> done{0};
  const long n = 200'000 / scale;
  std::thread changer([&] {
    int procs[] = {1, 4, 2, 3, 1, 2};
    for (int i = 0; done.load() < n; ++i) {
      csp::runtime::gomaxprocs(procs[i % 6]);
      std::this_thread::sleep_for(1ms);
    }
  });
  for (long i = 0; i < n; ++i)
    csp::go([&] {
      for (int k = 0; k < 3; ++k) csp::runtime::gosched();
      done.fetch_add(1);
    });
  CHECK(wait_for([&] { return done.load() == n; }));
  changer.join();
  CHECK(csp::runtime::gomaxprocs(before) >= 1);
  CHECK(csp::runtime::gomaxprocs() == before);
}

TEST_CASE("runtime: num_goroutine counts live goroutines plus main") {
  REQUIRE(csp_test::wait_goroutines_back(1));
  CHECK(csp::runtime::num_goroutine() == 1);
  std::vector<csp_test::park_event> ev(10);
  std::atomic<int> started{0};
  for (auto& e : ev)
    csp::go([&] {
      started++;
      e.wait();
    });
  REQUIRE(wait_for([&] { return started.load() == 10; }));
  CHECK(csp::runtime::num_goroutine() == 11);
  for (auto& e : ev) e.notify();
  CHECK(csp_test::wait_goroutines_back(1));
}

TEST_CASE("runtime: gosched from a plain thread just yields") {
  csp::runtime::gosched();
  CHECK(true);
}

TEST_CASE("run: f runs as goroutine 1 on the scheduler and run returns its result") {
  csp_test::with_procs({1, 2}, [](int) {
    bool was_goroutine = false;
    std::string dump;
    int r = csp::run([&] {
      was_goroutine = csp::detail::in_goroutine();
      auto c = csp::make_chan<int>();
      csp::go([c] { c.send(41); });
      int v = c.recv().value();  // parks like any goroutine
      std::ostringstream out;
      csp::runtime::dump_goroutines(out);
      dump = out.str();
      return v + 1;
    });
    CHECK(r == 42);
    CHECK(was_goroutine);
    // "[running]", or under load "[running, 12ms without yielding: ...]"
    CHECK(std::regex_search(dump, std::regex("goroutine 1 \\[running[^\\]]*\\]:\n\tcreated at ")));
    CHECK(dump.find("goroutine_test.cpp") != std::string::npos);
    CHECK(dump.find("main thread") == std::string::npos);  // run's goroutine is goroutine 1
    int calls = 0;
    CHECK(csp::run([&] { ++calls; }) == 0);  // void: 0
    CHECK(csp::run([&] { return csp::run([&] { return ++calls; }); }) == 2);  // nested: a call
  });
}

TEST_CASE("run: go()'s goroutines are numbered from 2, never as goroutine 1") {
  std::atomic<bool> go_on{false};
  csp::go([&] {
    while (!go_on.load()) csp::runtime::gosched();
  });
  std::ostringstream out;
  csp::runtime::dump_goroutines(out);
  go_on = true;
  // Goroutine 1 is the main thread's line if any, never a go() goroutine's.
  CHECK_FALSE(std::regex_search(out.str(), std::regex("goroutine 1 \\[[^\\]]*\\]:\n\tcreated at")));
  CHECK(std::regex_search(out.str(), std::regex("goroutine ([2-9]|[1-9][0-9]+) \\[[^\\]]*\\]:\n\tcreated at")));
  REQUIRE(csp_test::wait_goroutines_back(1));
}

TEST_CASE("stacks: a burst's stacks go back to the OS once it is over, and the pool keeps a few") {
  auto& pool = csp::detail::stack_pool::instance();
  const int n = static_cast<int>(std::max<long>(20'000 / scale, 2'000));
  REQUIRE(static_cast<std::size_t>(n) > 4 * csp::detail::stack_pool::retain_min);
  auto release = csp::make_chan<>();
  csp::sync::wait_group started;
  started.add(n);
  for (int i = 0; i < n; ++i)
    csp::go([&, release] {
      started.done();
      release.recv();
    });
  started.wait();
  const long rss_peak_kib = csp_test::vm_rss_kib();
  release.close();
  REQUIRE(csp_test::wait_goroutines_back(1));
  // The burst's stacks are free now, most of them resident; an idle worker
  // gives back those no goroutine took within a trim period.
  CHECK(wait_for([&] { return pool.resident_free() <= csp::detail::stack_pool::retain_min; }));
  CHECK(pool.resident_free() >= csp::detail::stack_pool::retain_min / 2);  // kept warm
  // At least half the burst's stack pages left the resident set.
  CHECK(rss_peak_kib - csp_test::vm_rss_kib() >= long(n) / 2 * 4);
}
