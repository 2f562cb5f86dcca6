// sync_test.cpp — package sync: wait_group, mutex, rw_mutex, once, cond.
//
// Every case mixes goroutines with plain OS threads where the behaviour
// allows, and runs at several worker counts (csp_test::with_procs), because
// both kinds of task block on the same semaphores. Cases do not depend on
// channels or timers, so a bug here points at sync or the runtime core.
//
// Failures are recorded in atomics and checked on the test's thread:
// doctest's assertion context is thread-local and goroutines migrate.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <csp/goroutine.hpp>
#include <csp/panic.hpp>
#include <csp/runtime.hpp>
#include <csp/sync.hpp>

#include "sched/park.hpp"  // in_goroutine, for the polling helper
#include "test_util.hpp"

using namespace std::chrono_literals;
using namespace csp;  // as API.md: `sync::mutex`, `go(...)`, `runtime::gosched()`

using csp_test::must;
using csp_test::wait_for;

namespace {

#if defined(CSP_ASAN) || defined(CSP_TSAN)
constexpr int scale = 8;  // sanitized runs are 5-15x slower
#else
constexpr int scale = 1;
#endif

bool dump_contains(const std::string& s) {
  std::ostringstream out;
  csp::runtime::dump_goroutines(out);
  return out.str().find(s) != std::string::npos;
}

// crew runs bodies on goroutines and plain threads and joins them all.
class crew {
 public:
  crew() = default;
  crew(const crew&) = delete;
  crew& operator=(const crew&) = delete;
  ~crew() { join(); }

  template <class F>
  void go(F f) {
    ++goroutines_;
    csp::go([this, f]() mutable {
      f();
      finished_.fetch_add(1, std::memory_order_release);  // last touch of *this
    });
  }
  template <class F>
  void thread(F f) {
    threads_.emplace_back(std::move(f));
  }
  // mixed starts n bodies, every `thread_every`-th of them on a plain thread.
  template <class F>
  void mixed(int n, int thread_every, F f) {
    for (int i = 0; i < n; ++i) {
      if (thread_every > 0 && i % thread_every == thread_every - 1) thread([f, i] { f(i); });
      else go([f, i] { f(i); });
    }
  }
  void join() {
    for (auto& t : threads_) t.join();
    threads_.clear();
    must(wait_for([this] { return finished_.load(std::memory_order_acquire) == goroutines_; }),
         "crew goroutines to finish");
  }

 private:
  int goroutines_ = 0;
  std::atomic<int> finished_{0};
  std::vector<std::thread> threads_;
};

// A global mutex is constant-initialized (zero value ready, as Go's).
constinit sync::mutex global_mu;
constinit sync::wait_group global_wg;

static_assert(!std::is_copy_constructible_v<sync::mutex> && !std::is_move_constructible_v<sync::mutex>);
static_assert(!std::is_copy_constructible_v<sync::wait_group>);
static_assert(!std::is_copy_constructible_v<sync::cond>);

}  // namespace

// ---- mutex -------------------------------------------------------------------

TEST_CASE("sync::mutex: excludes goroutines and threads mixed under contention") {
  csp_test::with_procs([](int) {
    sync::mutex mu;
    long counter = 0;  // guarded by mu; deliberately not atomic
    std::atomic<int> inside{0};
    std::atomic<bool> overlap{false};
    const int iters = 3000 / scale;
    {
      crew c;
      c.mixed(8, 4, [&](int) {
        for (int i = 0; i < iters; ++i) {
          std::lock_guard<sync::mutex> hold(mu);
          if (inside.fetch_add(1) != 0) overlap = true;
          ++counter;
          // Yield now and then while holding, so that others queue and park.
          if (i % 97 == 0) csp::runtime::gosched();
          inside.fetch_sub(1);
        }
      });
    }
    CHECK_FALSE(overlap.load());
    CHECK(counter == 8L * iters);
  });
}

TEST_CASE("sync::mutex: try_lock, std::unique_lock and std::scoped_lock") {
  sync::mutex mu;
  CHECK(mu.try_lock());
  CHECK_FALSE(mu.try_lock());
  mu.unlock();
  {
    std::unique_lock<sync::mutex> lk(mu);
    CHECK(lk.owns_lock());
    CHECK_FALSE(mu.try_lock());
    lk.unlock();
    CHECK(lk.try_lock());
  }
  {
    std::scoped_lock lk(mu, global_mu);
    CHECK_FALSE(mu.try_lock());
    CHECK_FALSE(global_mu.try_lock());
  }
  CHECK(mu.try_lock());
  mu.unlock();
  CHECK(sizeof(sync::mutex) == 8);
}

TEST_CASE("sync::mutex: a goroutine blocked in lock() parks and frees its worker") {
  csp_test::with_procs({1}, [](int) {
    sync::mutex mu;
    std::atomic<bool> got{false}, other_ran{false};
    mu.lock();  // held by the main thread
    csp::go([&] {
      mu.lock();
      mu.unlock();
      got = true;
    });
    // The dump names the wait in Go's words.
    must(wait_for([] { return dump_contains("sync.Mutex.Lock"); }), "goroutine parked in lock()");
    // With one worker, this runs only if the blocked goroutine gave it up.
    csp::go([&] { other_ran = true; });
    must(wait_for([&] { return other_ran.load(); }), "second goroutine on the only worker");
    CHECK_FALSE(got.load());
    mu.unlock();
    must(wait_for([&] { return got.load(); }), "parked goroutine to get the mutex");
  });
}

TEST_CASE("sync::mutex: unlock of an unlocked mutex panics with Go's message") {
  sync::mutex mu;
  CHECK_THROWS_WITH_AS(mu.unlock(), "sync: unlock of unlocked mutex", csp::panic);
  mu.lock();
  mu.unlock();
  CHECK_THROWS_WITH_AS(mu.unlock(), "sync: unlock of unlocked mutex", csp::panic);
  // The panic left the state intact.
  CHECK(mu.try_lock());
  mu.unlock();
}

namespace {
// starvation_case: `holder` re-locks mu in a tight loop, holding it ~100 µs
// each time; the waiter must still get the mutex 10 times. Without
// starvation mode the holder, already running when it unlocks, re-locks
// before the woken waiter can run, nearly every time, and the waiter
// starves. With it, a waiter that waited over 1 ms gets the mutex handed
// over.
template <class StartHolder, class StartWaiter>
void starvation_case(StartHolder start_holder, StartWaiter start_waiter) {
  sync::mutex mu;
  std::atomic<bool> stop{false}, holder_done{false}, waiter_done{false};
  std::atomic<long> holder_rounds{0};
  auto holder = [&] {
    while (!stop.load()) {
      mu.lock();
      std::this_thread::sleep_for(100us);
      mu.unlock();
      holder_rounds.fetch_add(1);
    }
    holder_done = true;
  };
  auto waiter = [&] {
    for (int i = 0; i < 10; ++i) {
      std::this_thread::sleep_for(100us);
      mu.lock();
      mu.unlock();
    }
    waiter_done = true;
  };
  auto t0 = std::chrono::steady_clock::now();
  start_holder(holder);
  must(wait_for([&] { return holder_rounds.load() > 3; }), "holder to start");
  start_waiter(waiter);
  bool ok = wait_for([&] { return waiter_done.load(); }, 10s);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  stop = true;
  must(wait_for([&] { return holder_done.load() && waiter_done.load(); }, 60s), "holder and waiter to stop");
  CHECK_MESSAGE(ok, "waiter starved: could not take the mutex 10 times in 10 s");
  MESSAGE("10 acquisitions against the re-locker took " << took.count() << " ms");
}
}  // namespace

TEST_CASE("sync::mutex: starvation mode serves a waiter against a tight re-locker") {
  auto on_goroutine = [](auto& f) { csp::go([&f] { f(); }); };
  std::thread th;
  auto on_thread = [&th](auto& f) { th = std::thread([&f] { f(); }); };

  SUBCASE("goroutine holder, goroutine waiter") {
    csp_test::with_procs({2}, [&](int) { starvation_case(on_goroutine, on_goroutine); });
  }
  SUBCASE("thread holder, goroutine waiter") {
    csp_test::with_procs({1}, [&](int) { starvation_case(on_thread, on_goroutine); th.join(); });
  }
  SUBCASE("goroutine holder, thread waiter") {
    csp_test::with_procs({2}, [&](int) { starvation_case(on_goroutine, on_thread); th.join(); });
  }
}

// The case above is a liveness check: on Linux the wake-up that unlock()
// issues often preempts the unlocker, so even a mutex without starvation
// mode lets the waiter in now and then. This one pins the mode down: a
// waiter that waited over 1 ms and lost once more switches the mutex to
// handoff, after which an unlock() leaves the mutex to that waiter, so a
// try_lock() right after the unlock() fails. Without starvation mode the
// unlocked mutex is free for the taking and try_lock() succeeds.
//
// The waiter is a goroutine at gomaxprocs 1, and around each unlock()
// another goroutine occupies the only worker, so the woken waiter cannot
// run (and win or lose by timing) until the test has looked.
TEST_CASE("sync::mutex: a waiter that starved gets the mutex handed over") {
  csp_test::with_procs({1}, [](int) {
    // occupy_worker starts a goroutine that spins, without yielding, until
    // the returned flag is set; it returns once that goroutine runs.
    auto occupy_worker = [](std::atomic<int>& state) {
      state = 0;
      csp::go([&state] {
        state = 1;
        while (state.load() != 2) {}
        state = 3;  // last touch
      });
      must(wait_for([&] { return state.load() == 1; }), "the worker to be occupied");
    };
    auto release_worker = [](std::atomic<int>& state) {
      state = 2;
      must(wait_for([&] { return state.load() == 3; }), "the spinner to finish");
    };
    for (int trial = 0; trial < 3; ++trial) {
      sync::mutex mu;
      std::atomic<bool> waiter_done{false};
      std::atomic<int> spin{0};
      mu.lock();
      csp::go([&] {
        mu.lock();
        mu.unlock();
        waiter_done = true;
      });
      must(wait_for([] { return dump_contains("sync.Mutex.Lock"); }), "waiter to park");
      std::this_thread::sleep_for(3ms);  // it ages past the 1 ms threshold
      occupy_worker(spin);
      mu.unlock();  // normal mode: wakes the waiter, which cannot run yet
      mu.lock();    // and we take the mutex back from under it
      release_worker(spin);
      // The waiter runs, finds the mutex held, and having starved, queues
      // again with the mutex in starvation mode.
      std::this_thread::sleep_for(20ms);
      CHECK_FALSE(waiter_done.load());
      occupy_worker(spin);
      mu.unlock();  // starvation mode: the mutex goes to the waiter
      bool took = mu.try_lock();
      if (took) mu.unlock();
      release_worker(spin);
      CHECK_FALSE_MESSAGE(took, "unlock() left a starving waiter's mutex free for the taking");
      must(wait_for([&] { return waiter_done.load(); }), "waiter to get the mutex");
    }
  });
  // A plain thread as the starving waiter takes the same handoff path.
  sync::mutex mu;
  std::atomic<bool> waiter_done{false};
  mu.lock();
  std::thread t([&] {
    mu.lock();
    mu.unlock();
    waiter_done = true;
  });
  std::this_thread::sleep_for(5ms);
  mu.unlock();
  mu.lock();  // usually beats the thread; if not, the check below still holds
  std::this_thread::sleep_for(20ms);
  mu.unlock();
  t.join();
  CHECK(waiter_done.load());
}

TEST_CASE("sync::mutex: may be freed as soon as the lock() that unlock() released returns") {
  csp_test::with_procs([](int) {
    const int rounds = 1000 / scale;
    // The main thread waits; a goroutine unlocks.
    for (int i = 0; i < rounds; ++i) {
      auto* mu = new sync::mutex;
      mu->lock();
      csp::go([mu] { mu->unlock(); });
      mu->lock();  // released by the goroutine, which may still be in unlock()
      mu->unlock();
      delete mu;
    }
    // A goroutine waits and frees; the main thread unlocks.
    std::atomic<int> freed{0};
    for (int i = 0; i < rounds; ++i) {
      auto* mu = new sync::mutex;
      mu->lock();
      csp::go([mu, &freed] {
        mu->lock();
        mu->unlock();
        delete mu;  // the main thread may still be in unlock()
        freed.fetch_add(1);
      });
      if (i % 2 == 0) csp::runtime::gosched();  // sometimes let it queue first
      mu->unlock();
    }
    must(wait_for([&] { return freed.load() == rounds; }), "goroutines to free their mutexes");
  });
}

// ---- rw_mutex ----------------------------------------------------------------

TEST_CASE("sync::rw_mutex: readers hold the lock together") {
  csp_test::with_procs({1, 2, 4}, [](int) {
    sync::rw_mutex rw;
    constexpr int n = 5;
    std::atomic<int> in{0};
    std::atomic<int> timed_out{0};
    {
      crew c;
      c.mixed(n, 3, [&](int) {
        std::shared_lock<sync::rw_mutex> lk(rw);
        in.fetch_add(1);
        // Every reader waits here, inside its read lock, until all are in:
        // this finishes only if the read locks overlap.
        if (!wait_for([&] { return in.load() == n; }, 10s)) timed_out.fetch_add(1);
      });
    }
    CHECK(timed_out.load() == 0);
    CHECK(rw.try_lock());
    rw.unlock();
  });
}

TEST_CASE("sync::rw_mutex: a writer excludes readers and other writers") {
  csp_test::with_procs([](int) {
    sync::rw_mutex rw;
    // activity: readers add 1, writers add 10000 (Go's HammerRWMutex idea).
    std::atomic<int> activity{0};
    std::atomic<int> bad{0};
    long shared_value = 0;  // written under the write lock only
    const int iters = 1000 / scale;
    {
      crew c;
      c.mixed(8, 4, [&](int id) {
        for (int i = 0; i < iters; ++i) {
          if ((i + id) % 4 == 0) {
            std::lock_guard<sync::rw_mutex> lk(rw);
            if (activity.fetch_add(10000) != 0) bad.fetch_add(1);
            ++shared_value;
            if (i % 31 == 0) csp::runtime::gosched();
            activity.fetch_sub(10000);
          } else {
            std::shared_lock<sync::rw_mutex> lk(rw);
            int a = activity.fetch_add(1) + 1;
            if (a < 1 || a >= 10000) bad.fetch_add(1);
            if (i % 31 == 0) csp::runtime::gosched();
            activity.fetch_sub(1);
          }
        }
      });
    }
    CHECK(bad.load() == 0);
    long writes = 0;
    for (int id = 0; id < 8; ++id)
      for (int i = 0; i < iters; ++i) writes += (i + id) % 4 == 0;
    CHECK(shared_value == writes);
  });
}

TEST_CASE("sync::rw_mutex: a waiting writer blocks new readers") {
  csp_test::with_procs({1, 2}, [](int) {
    sync::rw_mutex rw;
    std::atomic<bool> writer_in{false}, writer_done{false};
    rw.lock_shared();  // the main thread reads
    csp::go([&] {
      rw.lock();
      writer_in = true;
      rw.unlock();
      writer_done = true;
    });
    // Once the writer is waiting, a new reader must not get in (Go: "If any
    // goroutine calls Lock while the lock is already held by one or more
    // readers, concurrent calls to RLock will block until the writer has
    // acquired (and released) the lock").
    must(wait_for([&] {
           if (!rw.try_lock_shared()) return true;
           rw.unlock_shared();
           return false;
         }),
         "writer to announce itself");
    // The writer announces itself before it parks: wait for the park too.
    must(wait_for([] { return dump_contains("sync.RWMutex.Lock"); }), "writer parked in Lock");
    CHECK_FALSE(writer_in.load());
    rw.unlock_shared();
    must(wait_for([&] { return writer_done.load(); }), "writer to get in");
    CHECK(rw.try_lock_shared());
    rw.unlock_shared();
  });
}

TEST_CASE("sync::rw_mutex: a writer is not starved by a stream of overlapping readers") {
  csp_test::with_procs({2, 4}, [](int) {
    sync::rw_mutex rw;
    std::atomic<bool> stop{false};
    std::atomic<long> reads{0};
    crew c;
    // Four readers that always overlap: each holds its read lock ~50 µs and
    // re-takes it at once, so with reader preference a writer never finds
    // the count at zero.
    c.mixed(4, 2, [&](int) {
      while (!stop.load()) {
        std::shared_lock<sync::rw_mutex> lk(rw);
        auto until = std::chrono::steady_clock::now() + 50us;
        while (std::chrono::steady_clock::now() < until) {}
        reads.fetch_add(1);
      }
    });
    must(wait_for([&] { return reads.load() > 20; }), "readers to start");
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) {
      rw.lock();  // main thread as the writer
      rw.unlock();
    }
    auto took = std::chrono::steady_clock::now() - t0;
    stop = true;
    c.join();
    CHECK(took < 5s);
  });
}

TEST_CASE("sync::rw_mutex: misuse panics with Go's messages") {
  sync::rw_mutex rw;
  CHECK_THROWS_WITH_AS(rw.unlock(), "sync: Unlock of unlocked RWMutex", csp::panic);
  CHECK_THROWS_WITH_AS(rw.unlock_shared(), "sync: RUnlock of unlocked RWMutex", csp::panic);
  rw.lock_shared();
  CHECK_THROWS_WITH_AS(rw.unlock(), "sync: Unlock of unlocked RWMutex", csp::panic);
  rw.unlock_shared();
  rw.lock();
  CHECK_THROWS_WITH_AS(rw.unlock_shared(), "sync: RUnlock of unlocked RWMutex", csp::panic);
  rw.unlock();
  // The panics left the state intact.
  CHECK(rw.try_lock());
  CHECK_FALSE(rw.try_lock_shared());
  rw.unlock();
  CHECK(rw.try_lock_shared());
  CHECK(rw.try_lock_shared());
  CHECK_FALSE(rw.try_lock());
  rw.unlock_shared();
  rw.unlock_shared();
}

TEST_CASE("sync::rw_mutex: readers queued behind a writer get in before the next writer") {
  csp_test::with_procs({2}, [](int) {
    sync::rw_mutex rw;
    std::atomic<int> order{0};
    std::atomic<int> reader_pos{-1}, writer2_pos{-1}, finished{0};
    rw.lock();  // writer 1: the main thread
    csp::go([&] {  // a reader queues behind writer 1
      rw.lock_shared();
      reader_pos = order.fetch_add(1);
      rw.unlock_shared();
      finished.fetch_add(1);  // an rw_mutex must outlive its unlocks
    });
    must(wait_for([] { return dump_contains("sync.RWMutex.RLock"); }), "reader to queue");
    csp::go([&] {  // writer 2 queues behind writer 1 (on w_)
      rw.lock();
      writer2_pos = order.fetch_add(1);
      rw.unlock();
      finished.fetch_add(1);
    });
    must(wait_for([] { return dump_contains("sync.Mutex.Lock"); }), "second writer to queue");
    rw.unlock();
    must(wait_for([&] { return finished.load() == 2; }), "both to finish");
    CHECK(reader_pos.load() < writer2_pos.load());
  });
}

// ---- wait_group --------------------------------------------------------------

TEST_CASE("sync::wait_group: wait returns once every done() has happened") {
  csp_test::with_procs([](int) {
    sync::wait_group wg;
    constexpr int n = 20;
    int results[n] = {};  // written before done(), read after wait(): the wg orders them
    std::vector<std::thread> threads;
    wg.add(n);
    for (int i = 0; i < n; ++i) {
      auto work = [&, i] {
        csp::runtime::gosched();
        results[i] = i + 1;
        wg.done();
      };
      if (i % 5 == 0) threads.emplace_back(work);
      else csp::go(work);
    }
    wg.wait();
    long sum = 0;
    for (int r : results) sum += r;
    CHECK(sum == n * (n + 1) / 2);
    for (auto& t : threads) t.join();
  });
}

TEST_CASE("sync::wait_group: many waiters, goroutines and threads, are all released") {
  csp_test::with_procs([](int) {
    sync::wait_group gate;
    gate.add(1);
    std::atomic<int> released{0};
    {
      crew c;
      c.mixed(9, 3, [&](int) {
        gate.wait();
        released.fetch_add(1);
      });
      must(wait_for([] { return dump_contains("sync.WaitGroup.Wait"); }), "a goroutine to park in wait()");
      CHECK(released.load() == 0);
      gate.done();
    }
    CHECK(released.load() == 9);
  });
}

TEST_CASE("sync::wait_group: reusable once the previous wait() has returned") {
  csp_test::with_procs({1, 2, 4}, [](int) {
    sync::wait_group wg;
    std::atomic<int> count{0};
    for (int round = 0; round < 50; ++round) {
      int k = 1 + round % 7;
      wg.add(k);
      for (int i = 0; i < k; ++i) csp::go([&] {
        count.fetch_add(1);
        wg.done();
      });
      wg.wait();
      CHECK(count.load() == k);
      count = 0;
    }
  });
}

TEST_CASE("sync::wait_group: a negative counter panics with Go's message") {
  sync::wait_group wg;
  CHECK_THROWS_WITH_AS(wg.done(), "sync: negative WaitGroup counter", csp::panic);
  sync::wait_group wg2;
  wg2.add(2);
  CHECK_THROWS_WITH_AS(wg2.add(-3), "sync: negative WaitGroup counter", csp::panic);
  // The panic left the counter at 2 (a group destroyed above zero is a
  // fatal error, so it must not be left at -1 either).
  CHECK_NOTHROW(wg2.add(-2));
  CHECK_NOTHROW(wg.add(0));
}

TEST_CASE("sync::wait_group: reuse before the previous wait() returned is detected") {
  // A waiter released by done() checks, once it runs, that nobody started
  // a new round meanwhile (Go's "WaitGroup is reused before previous Wait
  // has returned"). A plain-thread waiter takes tens of microseconds to wake
  // from its futex, and our add(1) follows done() at once, so the check
  // fires in nearly every round; a few rounds make it certain.
  std::string caught;
  for (int attempt = 0; attempt < 20 && caught.empty(); ++attempt) {
    sync::wait_group wg;
    wg.add(1);
    std::thread waiter([&] {
      try {
        wg.wait();
      } catch (const csp::panic& e) {
        caught = e.what();
      }
    });
    std::this_thread::sleep_for(2ms);  // let it block
    wg.done();
    wg.add(1);  // too early: the waiter may not have returned yet
    std::this_thread::sleep_for(2ms);
    wg.done();  // releases the waiter if it had started waiting on the new round
    waiter.join();
  }
  CHECK(caught == "sync: WaitGroup is reused before previous Wait has returned");
}

namespace {
// wait_in_frame: the wait_group lives in this frame, which is gone right
// after wait() returns, while the last done() may still be returning.
[[gnu::noinline]] void wait_in_frame(int n, bool with_thread) {
  sync::wait_group wg;
  wg.add(n);
  for (int i = 0; i < n; ++i) csp::go([&wg] { wg.done(); });
  std::thread t;
  if (with_thread) {
    wg.add(1);
    t = std::thread([&wg] { wg.done(); });
  }
  wg.wait();
  if (t.joinable()) t.detach();  // it may still be inside done(); it does not touch wg after
}
}  // namespace

TEST_CASE("sync::wait_group: may be destroyed as soon as wait() returns") {
  csp_test::with_procs([](int) {
    const int rounds = 2000 / scale;
    for (int i = 0; i < rounds; ++i) wait_in_frame(1 + i % 3, i % 50 == 0);
    // On the heap, where ASan sees every touch after delete.
    for (int i = 0; i < rounds; ++i) {
      auto* wg = new sync::wait_group;
      wg->add(2);
      csp::go([wg] { wg->done(); });
      csp::go([wg] { wg->done(); });
      wg->wait();
      delete wg;
    }
    // A goroutine waits and frees; the main thread's done() releases it.
    std::atomic<int> freed{0};
    for (int i = 0; i < rounds / 4; ++i) {
      auto* wg = new sync::wait_group;
      wg->add(1);
      csp::go([wg, &freed] {
        wg->wait();
        delete wg;
        freed.fetch_add(1);
      });
      if (i % 2 == 0) csp::runtime::gosched();
      wg->done();
    }
    must(wait_for([&] { return freed.load() == rounds / 4; }), "waiters to free their groups");
  });
  // Detached helper threads finish on their own; give them a moment.
  std::this_thread::sleep_for(10ms);
}

TEST_CASE("sync::wait_group: go() counts the goroutine in the group") {
  sync::wait_group wg;
  std::atomic<int> sum{0};
  for (int i = 1; i <= 10; ++i) wg.go([&sum](int v) { sum += v; }, i);
  wg.wait();
  CHECK(sum.load() == 55);
  global_wg.go([] {});
  global_wg.wait();
}

// ---- once --------------------------------------------------------------------

TEST_CASE("sync::once: runs f exactly once, and no call returns before it finished") {
  csp_test::with_procs([](int) {
    sync::once once;
    std::atomic<int> runs{0};
    int value = 0;  // written by f; read by every caller after call() returns
    std::atomic<int> early{0};
    {
      crew c;
      c.mixed(10, 3, [&](int) {
        once.call([&] {
          std::this_thread::sleep_for(2ms);  // others arrive meanwhile
          value = 42;
          runs.fetch_add(1);
        });
        if (value != 42) early.fetch_add(1);
      });
    }
    CHECK(runs.load() == 1);
    CHECK(early.load() == 0);
  });
}

TEST_CASE("sync::once: an f that throws counts as done and the exception propagates") {
  sync::once once;
  CHECK_THROWS_WITH_AS(once.call([] { throw std::runtime_error("boom"); }), "boom", std::runtime_error);
  bool ran = false;
  once.call([&] { ran = true; });
  CHECK_FALSE(ran);
  // Callers that waited for the throwing f return normally.
  sync::once once2;
  std::atomic<bool> started{false};
  std::atomic<int> threw{0}, returned{0};
  crew c;
  c.thread([&] {
    try {
      once2.call([&] {
        started = true;
        std::this_thread::sleep_for(20ms);
        throw std::runtime_error("first");
      });
    } catch (const std::runtime_error&) {
      threw.fetch_add(1);
    }
  });
  must(wait_for([&] { return started.load(); }), "first call to start");
  c.mixed(4, 2, [&](int) {
    once2.call([] { throw std::logic_error("must not run"); });
    returned.fetch_add(1);
  });
  c.join();
  CHECK(threw.load() == 1);
  CHECK(returned.load() == 4);
}

TEST_CASE("sync::once: passes arguments") {
  sync::once once;
  int out = 0;
  once.call([](int& o, int v) { o = v; }, out, 7);
  CHECK(out == 7);
}

// ---- cond --------------------------------------------------------------------

TEST_CASE("sync::cond: signal wakes exactly one waiter, broadcast wakes the rest") {
  csp_test::with_procs([](int) {
    sync::mutex mu;
    sync::cond cv;
    int waiting = 0;  // guarded by mu
    std::atomic<int> woken{0};
    constexpr int n = 6;
    crew c;
    c.mixed(n, 3, [&](int) {
      std::unique_lock<sync::mutex> lk(mu);
      ++waiting;
      cv.wait(lk);  // no predicate: csp's cond has no spurious wake-ups
      woken.fetch_add(1);
    });
    // Once `waiting` reads n under mu, every waiter holds a ticket.
    must(wait_for([&] {
           std::lock_guard<sync::mutex> g(mu);
           return waiting == n;
         }),
         "waiters to wait");
    CHECK(woken.load() == 0);
    cv.signal();
    must(wait_for([&] { return woken.load() >= 1; }), "one waiter to wake");
    std::this_thread::sleep_for(20ms);
    CHECK(woken.load() == 1);
    {
      std::lock_guard<sync::mutex> g(mu);  // signal under the lock works too
      cv.signal();
    }
    must(wait_for([&] { return woken.load() >= 2; }), "a second waiter to wake");
    std::this_thread::sleep_for(20ms);
    CHECK(woken.load() == 2);
    cv.broadcast();
    c.join();
    CHECK(woken.load() == n);
  });
}

TEST_CASE("sync::cond: a signal with nobody waiting is not remembered") {
  sync::mutex mu;
  sync::cond cv;
  cv.signal();  // nobody waits: lost, as in Go (a cond is not a semaphore)
  cv.broadcast();
  bool signalled = false;  // guarded by mu
  crew c;
  std::unique_lock<sync::mutex> lk(mu);
  c.go([&] {
    std::lock_guard<sync::mutex> g(mu);  // only once wait() below released mu
    signalled = true;
    cv.signal();
  });
  cv.wait(lk);  // a remembered signal would return at once, before the goroutine ran
  CHECK(signalled);
  lk.unlock();
  c.join();
}

TEST_CASE("sync::cond: producer and consumers with wait(lock, pred), goroutines and threads") {
  csp_test::with_procs([](int) {
    sync::mutex mu;
    sync::cond not_empty;
    std::vector<int> queue;  // guarded by mu
    bool closed = false;     // guarded by mu
    std::atomic<long> sum{0};
    const int items = 2000 / scale;
    {
      crew c;
      c.mixed(6, 3, [&](int) {
        for (;;) {
          std::unique_lock<sync::mutex> lk(mu);
          not_empty.wait(lk, [&] { return !queue.empty() || closed; });
          if (queue.empty()) return;
          int v = queue.back();
          queue.pop_back();
          lk.unlock();
          sum.fetch_add(v);
        }
      });
      for (int i = 1; i <= items; ++i) {
        {
          std::lock_guard<sync::mutex> g(mu);
          queue.push_back(i);
        }
        not_empty.signal();
      }
      {
        std::lock_guard<sync::mutex> g(mu);
        closed = true;
      }
      not_empty.broadcast();
    }
    CHECK(sum.load() == long{items} * (items + 1) / 2);
  });
}

TEST_CASE("sync::cond: wait() takes any BasicLockable: a bare sync::mutex, an rw_mutex reader") {
  sync::mutex mu;
  sync::cond cv;
  bool ready = false;
  crew c;
  c.go([&] {
    std::lock_guard<sync::mutex> g(mu);
    ready = true;
    cv.broadcast();
  });
  mu.lock();
  while (!ready) cv.wait(mu);  // Go style: c.L is the mutex itself
  mu.unlock();
  c.join();

  sync::rw_mutex rw;
  sync::cond cv2;
  std::atomic<bool> flag{false};
  auto rl = rw.rlocker();
  c.go([&] {
    rw.lock();  // gets in only once the waiter's wait() released its read lock
    flag = true;
    rw.unlock();
    cv2.broadcast();
  });
  rl.lock();
  while (!flag.load()) cv2.wait(rl);
  rl.unlock();
  c.join();
}

TEST_CASE("sync::cond: a goroutine in wait() parks") {
  csp_test::with_procs({1}, [](int) {
    sync::mutex mu;
    sync::cond cv;
    bool go_on = false;
    std::atomic<bool> done{false};
    csp::go([&] {
      std::unique_lock<sync::mutex> lk(mu);
      cv.wait(lk, [&] { return go_on; });
      lk.unlock();
      done = true;
    });
    must(wait_for([] { return dump_contains("sync.Cond.Wait"); }), "goroutine parked in wait()");
    {
      std::lock_guard<sync::mutex> g(mu);
      go_on = true;
    }
    cv.signal();
    must(wait_for([&] { return done.load(); }), "waiter to wake");
  });
}

TEST_CASE("sync::cond: may be destroyed as soon as the wait() that signal() released returns") {
  csp_test::with_procs([](int) {
    const int rounds = 1000 / scale;
    for (int i = 0; i < rounds; ++i) {
      sync::mutex mu;
      auto* cv = new sync::cond;
      std::unique_lock<sync::mutex> lk(mu);
      // The goroutine can take mu only after our wait() released it, so its
      // signal() is owed to our ticket and is what releases us.
      bool use_broadcast = i % 2 == 1;
      csp::go([&mu, cv, use_broadcast] {
        mu.lock();
        mu.unlock();
        if (use_broadcast) cv->broadcast();
        else cv->signal();  // may still be returning when cv is deleted
      });
      cv->wait(lk);
      lk.unlock();
      delete cv;
      // mu outlives the goroutine's use of it: it unlocked before signalling.
    }
  });
}
