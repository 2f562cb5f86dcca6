// select_test.cpp — select: index, callback and dynamic forms; default;
// nil and closed channels; the same channel in several cases; fairness;
// blocking and wake-up; no deadlock between overlapping selects.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <csp/chan.hpp>
#include <csp/goroutine.hpp>
#include <csp/panic.hpp>
#include <csp/runtime.hpp>
#include <csp/select.hpp>

#include "test_util.hpp"

using namespace csp;
using namespace std::chrono_literals;

using csp_test::count_state;
using csp_test::fragile;
using csp_test::panic_message;

namespace {

// leaked counts goroutines that a test left parked forever on purpose, per
// state, so that later tests' wait_state counts only their own.
std::map<std::string, int>& leaked() {
  static std::map<std::string, int> m;
  return m;
}

// wait_state waits (up to 10 s) until at least n goroutines (besides the
// leaked ones) are in `state`: how a test knows they have parked.
bool wait_state(const std::string& state, int n) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (count_state(state) < n + leaked()[state]) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// chi_square of observed counts against a uniform expectation.
double chi_square(const std::vector<long>& counts) {
  double total = 0;
  for (long c : counts) total += static_cast<double>(c);
  double expect = total / static_cast<double>(counts.size()), x2 = 0;
  for (long c : counts) x2 += (static_cast<double>(c) - expect) * (static_cast<double>(c) - expect) / expect;
  return x2;
}

}  // namespace

TEST_CASE("select: index form returns the ready case's index and receives into its optional") {
  auto a = make_chan<int>(1), b = make_chan<int>(1);
  std::optional<int> va, vb;
  b.send(5);
  CHECK(select(recv(a, va), recv(b, vb)) == 1);
  CHECK(vb == 5);
  CHECK(!va);
  a.send(6);
  CHECK(select(recv(a, va), recv(b, vb)) == 0);
  CHECK(va == 6);
}

TEST_CASE("select: default_case is chosen only when no case is ready, and its index is its position") {
  auto a = make_chan<int>(1);
  std::optional<int> v;
  CHECK(select(default_case, recv(a, v)) == 0);
  CHECK(select(recv(a, v), default_case) == 1);
  CHECK(!v);
  a.send(1);
  for (int i = 0; i < 20; ++i) {  // a ready case always beats the default
    CHECK(select(recv(a, v), default_case) == 0);
    CHECK(v == 1);
    a.send(1);
  }
  CHECK(select(default_case) == 0);
}

TEST_CASE("select: a send case's value is moved only if that case is chosen") {
  auto full = make_chan<std::unique_ptr<int>>(1), open = make_chan<std::unique_ptr<int>>(1);
  full.send(std::make_unique<int>(0));
  auto p = std::make_unique<int>(1), q = std::make_unique<int>(2);
  CHECK(select(send(full, std::move(p)), send(open, std::move(q))) == 1);
  CHECK(p != nullptr);  // not chosen: untouched
  CHECK(q == nullptr);  // chosen: moved into the channel
  CHECK(select(send(full, std::move(p)), default_case) == 1);
  CHECK(p != nullptr);
  CHECK(**open.recv() == 2);
}

TEST_CASE("select: a send case given an lvalue copies it when chosen") {
  auto c = make_chan<std::string>(1);
  std::string s = "hello";
  CHECK(select(send(c, s)) == 0);
  CHECK(s == "hello");
  CHECK(c.recv() == "hello");
  CHECK(select(send(c, std::string("tmp")), default_case) == 0);  // a temporary lives through the select
  CHECK(c.recv() == "tmp");
}

TEST_CASE("select: a receive case on a closed channel is chosen with an empty optional") {
  auto c = make_chan<int>();
  c.close();
  std::optional<int> v = 17;  // Go assigns the zero value: ours is emptied
  CHECK(select(recv(c, v), default_case) == 0);
  CHECK(!v);
  CHECK(select(recv(c)) == 0);
}

TEST_CASE("select: a send case on a closed channel panics when chosen") {
  auto c = make_chan<int>(1);
  c.close();
  CHECK(panic_message([&] { select(send(c, 1)); }) == "send on closed channel");
  CHECK(panic_message([&] { select(send(c, 1), default_case); }) == "send on closed channel");
}

TEST_CASE("select: nil channel cases are never chosen") {
  chan<int> nil;
  auto ready = make_chan<int>(1);
  std::optional<int> v;
  for (int i = 0; i < 50; ++i) {
    CHECK(select(recv(nil, v), send(nil, 1), default_case) == 2);
    ready.send(i);
    CHECK(select(recv(nil, v), send(nil, 1), recv(ready, v)) == 2);
    CHECK(v == i);
  }
}

TEST_CASE("select: blocks until a case is ready, from goroutines and from a plain thread") {
  csp_test::with_procs([](int) {
    auto a = make_chan<int>(), b = make_chan<int>();
    std::optional<int> va, vb;
    go([=] { b.send(3); });
    CHECK(select(recv(a, va), recv(b, vb)) == 1);  // main is a plain thread
    CHECK(vb == 3);
    auto result = make_chan<int>(1);
    go([=] {
      std::optional<int> x, y;
      int i = select(recv(a, x), recv(b, y));
      result.send(i == 0 ? *x : -1);
    });
    REQUIRE(wait_state("select", 1));
    a.send(8);
    CHECK(result.recv() == 8);
  });
}

TEST_CASE("select: a blocked select with a send case completes when a receiver arrives") {
  csp_test::with_procs([](int) {
    auto a = make_chan<int>(), b = make_chan<int>();
    auto result = make_chan<int>(1);
    go([=] { result.send(select(send(a, 1), send(b, 2))); });
    REQUIRE(wait_state("select", 1));
    CHECK(b.recv() == 2);
    CHECK(result.recv() == 1);
    CHECK_FALSE(a.try_recv());  // the other case did not also run
  });
}

TEST_CASE("select: close wakes a blocked select; a send case on it panics in that goroutine") {
  csp_test::with_procs([](int) {
    auto a = make_chan<int>(), b = make_chan<int>(), idle = make_chan<int>();
    auto result = make_chan<std::string>(2);
    go([=] {
      std::optional<int> v = 1;
      int i = select(recv(a, v), recv(idle));
      result.send(std::to_string(i) + (v ? " value" : " closed"));
    });
    go([=] {
      try {
        select(send(b, 1), recv(b));
        result.send("no panic?");
      } catch (const csp::panic& p) {
        result.send(p.what());
      }
    });
    REQUIRE(wait_state("select", 2));
    a.close();
    CHECK(result.recv() == "0 closed");
    // Closing b wakes the second select through one of its two cases: the
    // receive (nothing to panic about) or the send (panics). Either way it
    // is woken exactly once.
    b.close();
    auto r = *result.recv();
    CHECK((r == "send on closed channel" || r == "no panic?"));
  });
}

TEST_CASE("select: the same channel in several cases, including a send and a receive") {
  csp_test::with_procs([](int) {
    // Two goroutines each select {send c, recv c} on one unbuffered channel:
    // they must pair up, one sending and one receiving, never with itself.
    auto c = make_chan<int>();
    auto outcome = make_chan<int>(2);
    for (int round = 0; round < 200; ++round) {
      for (int g = 0; g < 2; ++g) {
        go([=] {
          std::optional<int> v;
          int i = select(send(c, g), recv(c, v), recv(c, v));
          outcome.send(i == 0 ? 0 : 1);
        });
      }
      int sends = *outcome.recv() + *outcome.recv();
      CHECK(sends == 1);  // one sent (0) and one received (1)
    }
    // A buffered channel named twice for receiving delivers each value once.
    auto d = make_chan<int>(4);
    for (int i = 0; i < 4; ++i) d.send(i);
    std::optional<int> x, y;
    int sum = 0;
    for (int i = 0; i < 4; ++i) {
      int k = select(recv(d, x), recv(d, y));
      sum += k == 0 ? *x : *y;
    }
    CHECK(sum == 6);
    CHECK(select(recv(d, x), recv(d, y), default_case) == 2);
  });
}

TEST_CASE("select: a select never rendezvouses with itself") {
  // go/test/chan/select3: "select should not get confused if it sees itself".
  csp_test::with_procs({1, 2}, [](int) {
    auto c = make_chan<int>();
    std::optional<int> v;
    CHECK(select(send(c, 1), recv(c, v), default_case) == 2);
    auto result = make_chan<int>(1);
    go([=] {
      std::optional<int> w;
      result.send(select(send(c, 1), recv(c, w)));
    });
    REQUIRE(wait_state("select", 1));
    std::this_thread::sleep_for(5ms);
    CHECK_FALSE(result.try_recv());  // still blocked
    CHECK(c.recv() == 1);            // a real partner completes it
    CHECK(result.recv() == 0);
  });
}

TEST_CASE("select: each ready case is chosen with equal probability") {
  // Four channels always ready; a chi-square test with 3 degrees of freedom.
  // p = 1e-6 is at 30.7; a biased order (e.g. always the first ready case,
  // or a shuffle that favours some positions) scores in the thousands.
  constexpr int cases = 4, rounds = 40000;
  auto run = [&](bool with_default) {
    std::vector<chan<int>> chs;
    for (int i = 0; i < cases; ++i) {
      chs.push_back(make_chan<int>(1));
      chs.back().send(i);
    }
    std::vector<long> counts(cases);
    std::optional<int> v;
    for (int r = 0; r < rounds; ++r) {
      int i = with_default ? select(recv(chs[0], v), recv(chs[1], v), recv(chs[2], v), recv(chs[3], v), default_case)
                           : select(recv(chs[0], v), recv(chs[1], v), recv(chs[2], v), recv(chs[3], v));
      REQUIRE(i < cases);
      counts[static_cast<std::size_t>(i)]++;
      chs[static_cast<std::size_t>(i)].send(i);
    }
    double x2 = chi_square(counts);
    INFO("counts ", counts[0], " ", counts[1], " ", counts[2], " ", counts[3], " chi2 ", x2);
    CHECK(x2 < 40.0);
  };
  run(false);
  run(true);
  // Send cases too, and a mix with a nil channel that must get nothing.
  std::vector<long> counts(3);
  auto a = make_chan<int>(rounds), b = make_chan<int>(rounds), c = make_chan<int>(rounds);
  chan<int> nil;
  for (int r = 0; r < rounds / 2; ++r) {
    int i = select(send(a, 0), send(nil, 0), send(b, 0), send(c, 0));
    REQUIRE(i != 1);
    counts[static_cast<std::size_t>(i == 0 ? 0 : i - 1)]++;
  }
  CHECK(chi_square(counts) < 40.0);
}

TEST_CASE("select: callback form runs the chosen case's callback only") {
  auto a = make_chan<int>(1);
  auto b = make_chan<std::string>(1);
  std::string log;
  a.send(4);
  int i = select(on_recv(a, [&](std::optional<int> v) { log.append("a").append(std::to_string(*v)); }),
                 on_recv(b, [&](auto v) { log += "b" + *v; }),
                 on_default([&] { log += "default"; }));
  CHECK(i == 0);
  CHECK(log == "a4");
  log.clear();
  CHECK(select(on_recv(a, [&](auto) { log += "a"; }), on_default([&] { log += "default"; })) == 1);
  CHECK(log == "default");
  log.clear();
  std::string msg = "hi";
  CHECK(select(on_send(b, msg, [&] { log += "sent"; }), on_recv(a, [&](auto) { log += "a"; })) == 0);
  CHECK(log == "sent");
  CHECK(msg == "hi");  // an lvalue is copied
  CHECK(b.recv() == "hi");
  a.close();
  std::optional<int> seen = 5;
  select(on_recv(a, [&](std::optional<int> v) { seen = v; }));
  CHECK(!seen);  // closed: the callback gets an empty optional
  auto u = make_chan<std::unique_ptr<int>>(1);
  auto p = std::make_unique<int>(3);
  select(on_send(u, std::move(p), [] {}));
  CHECK(p == nullptr);
  // Index and callback helpers mix in one select.
  std::optional<std::unique_ptr<int>> got;
  CHECK(select(recv(u, got), on_default([] {})) == 0);
  CHECK(**got == 3);
}

TEST_CASE("select: callback form with blocking") {
  csp_test::with_procs([](int) {
    auto a = make_chan<int>();
    auto done = make_chan<>();
    int got = 0;
    go([=] { a.send(11); });
    select(on_recv(a, [&](std::optional<int> v) { got = *v; }), on_recv(done, [&](auto) { got = -1; }));
    CHECK(got == 11);
  });
}

TEST_CASE("select: dynamic form over a vector of select_case") {
  csp_test::with_procs({1, 2}, [](int) {
    std::vector<chan<int>> chs;
    for (int i = 0; i < 20; ++i) chs.push_back(make_chan<int>(1));
    std::vector<std::optional<int>> vals(chs.size());
    std::vector<select_case> cases;
    for (std::size_t i = 0; i < chs.size(); ++i) cases.push_back(recv(chs[i], vals[i]));
    go([=] { chs[13].send(130); });
    CHECK(select(cases) == 13);
    CHECK(vals[13] == 130);
    cases.push_back(default_case);
    CHECK(select(cases) == 20);
    CHECK(select(std::span<select_case>(cases)) == 20);
    // Copies share the channel; the case keeps the channel alive.
    std::optional<int> tv;
    std::vector<select_case> own;
    {
      auto tmp = make_chan<int>(1);
      tmp.send(77);
      own.push_back(recv(tmp, tv));
    }
    std::vector<select_case> copy = own;
    CHECK(select(copy) == 0);
    CHECK(tv == 77);
    // Send and callback cases convert too.
    int x = 5;
    std::string log;
    std::vector<select_case> mixed{send(chs[0], x), on_recv(chs[1], [&](std::optional<int> v) { log = std::to_string(*v); })};
    chs[0].send(0);  // make the send case block
    chs[1].send(41);
    CHECK(select(mixed) == 1);
    CHECK(log == "41");
    std::vector<select_case> defaults{default_case, on_default([] {})};
    CHECK(panic_message([&] { select(defaults); }) == "select: multiple default cases");
  });
}

TEST_CASE("select: dynamic form over thousands of cases (lock order sort)") {
  std::vector<chan<int>> chs;
  std::vector<select_case> cases;
  for (int i = 0; i < 3000; ++i) {
    chs.push_back(make_chan<int>(1));
    cases.push_back(recv(chs.back()));
  }
  for (int k : {0, 1234, 2999}) {
    chs[static_cast<std::size_t>(k)].send(k);
    CHECK(select(cases) == k);
  }
  // Many cases on a few channels (duplicates locked once).
  std::vector<select_case> dup;
  auto c = make_chan<int>(1);
  for (int i = 0; i < 100; ++i) dup.push_back(recv(c));
  c.send(1);
  CHECK(select(dup) < 100);
  CHECK(c.len() == 0);
}

TEST_CASE("select: with no cases, or only nil channels, blocks forever") {
  // These goroutines never finish: outside with_procs, on purpose.
  static std::atomic<int> returned{0};
  int before_none = count_state("select (no cases)") - leaked()["select (no cases)"];
  int before_sel = count_state("select") - leaked()["select"];
  go([] {
    select();
    returned++;
  });
  go([] {
    chan<int> nil;
    std::optional<int> v;
    select(recv(nil, v), send(nil, 1));
    returned++;
  });
  go([] {
    std::vector<select_case> none;
    select(none);
    returned++;
  });
  CHECK(wait_state("select (no cases)", before_none + 2));
  CHECK(wait_state("select", before_sel + 1));
  leaked()["select (no cases)"] += 2;
  leaked()["select"] += 1;
  std::this_thread::sleep_for(10ms);
  CHECK(returned.load() == 0);
}

TEST_CASE("select: a throwing hand-off into a blocked select makes it poll again, not lose a value") {
  csp_test::with_procs({1, 2}, [](int) {
    auto a = make_chan<fragile>(), b = make_chan<fragile>();
    auto result = make_chan<int>(1);
    go([=] {
      std::optional<fragile> x, y;
      int i = select(recv(a, x), recv(b, y));
      result.send(i == 0 ? x->v : y->v + 100);
    });
    REQUIRE(wait_state("select", 1));
    fragile f(5);
    fragile::throws_left = 1;
    CHECK_THROWS_AS(a.try_send(std::move(f)), std::runtime_error);
    CHECK(f.v == 5);
    REQUIRE(wait_state("select", 1));  // woken to retry, and waiting again
    CHECK_FALSE(result.try_recv());
    b.send(fragile(6));
    CHECK(result.recv() == 106);
    // And a select sender whose value cannot be taken by a receiver: the
    // exception is the sender's (its select throws, its value intact); the
    // receiver goes on waiting.
    auto done = make_chan<std::string>(1);
    go([=] {
      fragile g(9);
      try {
        select(send(a, std::move(g)), send(b, fragile(10)));
        done.send("returned");
      } catch (const std::runtime_error& e) {
        done.send(std::string(e.what()) + ", kept " + std::to_string(g.v));
      }
    });
    REQUIRE(wait_state("select", 1));
    auto got = make_chan<int>(1);
    fragile::throws_left = 1;
    go([=] { got.send(a.recv()->v); });
    CHECK(done.recv() == "fragile move, kept 9");
    REQUIRE(wait_state("chan receive", 1));
    a.send(fragile(11));
    CHECK(got.recv() == 11);
  });
}

namespace {
// fragile_copy: a copyable value whose copy constructor throws while armed.
struct fragile_copy {
  static inline std::atomic<int> throws_left{0};
  int v = 0;
  fragile_copy() = default;
  explicit fragile_copy(int x) : v(x) {}
  fragile_copy(const fragile_copy& o) : v(o.v) {
    if (throws_left.load() > 0) {
      throws_left.fetch_sub(1);
      throw std::runtime_error("fragile copy");
    }
  }
  fragile_copy(fragile_copy&& o) noexcept : v(o.v) {}
  fragile_copy& operator=(const fragile_copy&) = default;
};
}  // namespace

// The program: a select send case given an lvalue copies it when
// the value is taken. Parked, the receiver took it and the copy threw in
// the receiver (a panic there), while the sender's select returned as if
// it had sent. Every way a select send case's copy can throw, the sender
// sees it and nothing was sent.
TEST_CASE("select: a send case whose copy throws throws in the sender, whoever takes the value") {
  csp_test::with_procs({1, 2}, [](int) {
    auto c = make_chan<fragile_copy>();
    auto other = make_chan<int>();
    auto outcome = make_chan<std::string>(1);
    auto sender = [=](bool callback) {
      go([=] {
        fragile_copy v(7);
        bool ran = false;
        try {
          if (callback) select(on_send(c, v, [&] { ran = true; }), on_recv(other, [](std::optional<int>) {}));
          else select(send(c, v), recv(other));
          outcome.send(ran ? "sent, callback ran" : "sent");
        } catch (const std::runtime_error& e) {
          outcome.send(std::string(e.what()) + (ran ? ", callback ran" : ""));
        }
      });
    };
    for (bool callback : {false, true}) {
      CAPTURE(callback);
      // Parked select, the receiver takes the value.
      sender(callback);
      REQUIRE(wait_state("select", 1));
      auto got = make_chan<int>(1);
      fragile_copy::throws_left = 1;
      go([=] { got.send(c.recv()->v); });
      CHECK(outcome.recv() == "fragile copy");
      REQUIRE(wait_state("chan receive", 1));  // the receiver is unharmed and waits on
      // The select executes against that parked receiver: it throws, and
      // the receiver stays parked, first in line.
      fragile_copy::throws_left = 1;
      sender(callback);
      CHECK(outcome.recv() == "fragile copy");
      CHECK(count_state("chan receive") >= 1);
      // Without a throw, the same select sends.
      sender(callback);
      CHECK(got.recv() == 7);
      CHECK(outcome.recv() == (callback ? "sent, callback ran" : "sent"));
    }
    // Buffered: into the buffer, by the sender.
    auto b = make_chan<fragile_copy>(1);
    fragile_copy v(3);
    fragile_copy::throws_left = 1;
    CHECK_THROWS_WITH_AS(select(send(b, v), recv(other)), "fragile copy", std::runtime_error);
    CHECK(b.len() == 0);
    // A plain send copies its argument in the sender, before anything.
    fragile_copy::throws_left = 1;
    CHECK_THROWS_WITH_AS(b.send(v), "fragile copy", std::runtime_error);
    CHECK(b.len() == 0);
  });
}

TEST_CASE("select: overlapping selects over shared channels do not deadlock") {
  // Goroutine g selects {send c[g], recv c[g+1], send c[g+3], recv c[g],
  // recv quit}: each goroutine's channels overlap its neighbours' in a
  // different order, both directions. Locking in address order keeps them
  // from deadlocking on the channel locks; and since g's receive on c[g+1]
  // always matches g+1's send on it, they can never all be parked at once.
  csp_test::with_procs([](int) {
    constexpr int n = 4;
    const long target = 2000;
    std::vector<chan<int>> chs;
    for (int i = 0; i < n; ++i) chs.push_back(make_chan<int>(static_cast<std::size_t>(i % 2)));
    auto quit = make_chan<>();
    auto done = make_chan<long>(n);
    std::atomic<long> selects{0};
    for (int g = 0; g < n; ++g) {
      go([=, &selects] {
        long net = 0;  // sends minus receives
        std::optional<int> v;
        const auto& c0 = chs[static_cast<std::size_t>(g)];
        const auto& c1 = chs[static_cast<std::size_t>((g + 1) % n)];
        const auto& c3 = chs[static_cast<std::size_t>((g + 3) % n)];
        for (;;) {
          int i = select(send(c0, g), recv(c1, v), send(c3, g), recv(c0, v), recv(quit));
          if (i == 4) break;
          net += (i == 0 || i == 2) ? 1 : -1;
          selects.fetch_add(1, std::memory_order_relaxed);
        }
        done.send(net);
      });
    }
    while (selects.load(std::memory_order_relaxed) < target) std::this_thread::sleep_for(1ms);
    quit.close();
    long net = 0;
    for (int g = 0; g < n; ++g) net += *done.recv();
    long buffered = 0;
    for (auto& c : chs) buffered += static_cast<long>(c.len());
    CHECK(net == buffered);  // every value sent was received once, or is still buffered
  });
}

TEST_CASE("select: default is never chosen while some case is ready at every instant") {
  // Two tokens, channels a and b of capacity 1. The mover shuttles them so
  // that it holds at most one at a time (it puts one in before taking the
  // other out): whenever the selector selects, a or b holds a token. A
  // select that judged its cases ready one at a time, without a common
  // instant, could see "a empty" and then "b empty" across one shuttle and
  // pick default. The fast pass must never decide "none ready" on its own.
  csp_test::with_procs({2, 4}, [](int) {
    auto a = make_chan<int>(1);
    auto b = make_chan<int>(1);
    a.send(1);
    std::atomic<bool> stop{false};
    auto mover_done = make_chan<>(1);
    go([=, &stop] {
      int spare = 2;
      while (!stop.load(std::memory_order_relaxed)) {
        b.send(spare);
        spare = *a.recv();
        a.send(spare);
        spare = *b.recv();
      }
      mover_done.send(unit{});
    });
    const long rounds = 1000000 / csp_test::sanitizer_scale;  // ~0.3 s; a broken fast pass fails here within ~10^5
    long defaults = 0;
    std::optional<int> v;
    for (long i = 0; i < rounds; ++i) {
      switch (select(recv(a, v), recv(b, v), default_case)) {
        case 0: a.send(*v); break;  // put it back where it was
        case 1: b.send(*v); break;
        default: ++defaults; break;
      }
    }
    stop.store(true, std::memory_order_relaxed);
    mover_done.recv();
    CHECK(defaults == 0);
  });
}

// ---- receive into T&, and labelled cases (issue 17) ----------------------

namespace {
struct item {
  std::string name;
  int n = 0;
};
}  // namespace

TEST_CASE("select: recv(ch, v) into a plain T is Go's `case it = <-ch`: the value, or T{} once closed") {
  // A port used to need std::optional<item> plus `if (!it) it.emplace();`.
  auto items = make_chan<item>(1);
  item it{"stale", 9};
  items.send(item{"first", 1});
  CHECK(select(recv(items, it), default_case) == 0);
  CHECK(it.name == "first");
  CHECK(it.n == 1);
  CHECK(select(recv(items, it), default_case) == 1);  // not chosen: untouched
  CHECK(it.name == "first");
  items.close();
  CHECK(select(recv(items, it), default_case) == 0);
  CHECK(it.name.empty());  // Go's zero value
  CHECK(it.n == 0);
}

TEST_CASE("select: recv(ch, v, ok) is Go's `case v, ok = <-ch`; only the chosen case assigns") {
  auto a = make_chan<int>(1), b = make_chan<int>(1);
  int va = -1, vb = -1;
  bool oka = true, okb = true;
  b.send(7);
  CHECK(select(recv(a, va, oka), recv(b, vb, okb)) == 1);
  CHECK(vb == 7);
  CHECK(okb);
  CHECK(va == -1);  // a's case was not chosen
  CHECK(oka);
  b.close();
  CHECK(select(recv(a, va, oka), recv(b, vb, okb)) == 1);
  CHECK(vb == 0);
  CHECK_FALSE(okb);
  // From a goroutine, blocking; and in the dynamic form.
  auto c = make_chan<std::string>();
  go([c] { c.send("late"); });
  std::string s = "x";
  bool ok = false;
  std::vector<select_case> cases{recv(c, s, ok)};
  CHECK(select(cases) == 0);
  CHECK(s == "late");
  CHECK(ok);
}

namespace {
enum class ev { result, job, timeout, idle };
}  // namespace

TEST_CASE("select: labelled cases return their label, whatever their order") {
  auto results = make_chan<int>(1);
  auto jobs = make_chan<int>(1);
  auto never = make_chan<int>();
  int r = 0;
  results.send(3);
  auto pick = [&](bool reversed) {
    if (reversed)
      return select(recv(never).as(ev::timeout), send(jobs, 1).as(ev::job), recv(results, r).as(ev::result));
    return select(recv(results, r).as(ev::result), send(jobs, 1).as(ev::job), recv(never).as(ev::timeout));
  };
  // results and jobs both ready every time: select picks one at random, so
  // go on until each label has come up in both orders (1 in 2^200 to fail).
  bool got[2][2] = {};
  for (int i = 0; i < 400 && !(got[0][0] && got[0][1] && got[1][0] && got[1][1]); ++i) {
    bool reversed = i % 2;
    ev e = pick(reversed);
    REQUIRE((e == ev::result || e == ev::job));  // never a position, never the nil-like case
    got[reversed][e == ev::result] = true;
    if (e == ev::result) {
      CHECK(r == 3);
      r = 0;
      results.send(3);
    } else {
      (void)jobs.recv();
    }
  }
  CHECK((got[0][0] && got[0][1] && got[1][0] && got[1][1]));
  // A labelled default, inside a switch as a port writes it.
  (void)results.recv();
  jobs.send(0);
  switch (select(recv(results, r).as(ev::result), send(jobs, 2).as(ev::job), default_case.as(ev::idle))) {
    case ev::idle: break;
    case ev::result:
    case ev::job:
    case ev::timeout: FAIL("nothing was ready"); break;
  }
}
