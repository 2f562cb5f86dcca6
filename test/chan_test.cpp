// chan_test.cpp — channel semantics: rendezvous, FIFO, close, nil, element
// types (move-only, non-default-constructible, large, throwing moves),
// goroutines and plain threads, happens-before.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
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
using csp_test::wait_state;

namespace {

// counted counts its moves and copies.
struct counted {
  static inline std::atomic<int> moves{0}, copies{0};
  int v = 0;
  counted() = default;
  explicit counted(int x) : v(x) {}
  counted(counted&& o) noexcept : v(o.v) { moves.fetch_add(1); }
  counted(const counted& o) : v(o.v) { copies.fetch_add(1); }
  counted& operator=(counted&& o) noexcept {
    v = o.v;
    moves.fetch_add(1);
    return *this;
  }
  counted& operator=(const counted&) = default;
  static void reset() { moves = 0, copies = 0; }
};

struct no_default {
  int v;
  explicit no_default(int x) : v(x) {}
};

struct big {
  unsigned char bytes[4096];
  explicit big(unsigned char seed) {
    for (std::size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>(seed + i * 7);
  }
  bool intact(unsigned char seed) const {
    for (std::size_t i = 0; i < sizeof bytes; ++i)
      if (bytes[i] != static_cast<unsigned char>(seed + i * 7)) return false;
    return true;
  }
};

template <class H>
concept can_send_on = requires(const H& h) { h.send(1); };
template <class H>
concept can_close = requires(const H& h) { h.close(); };
template <class H>
concept can_recv_on = requires(const H& h) { h.recv(); };

template <class T>
concept can_shift_out = requires(const chan<T>& c, T& x) { c >> x; };

}  // namespace

TEST_CASE("chan: a default-constructed chan is nil") {
  chan<int> c;
  CHECK(!c);
  CHECK(c == nullptr);
  CHECK(c == chan<int>{});
  CHECK(c.len() == 0);
  CHECK(c.cap() == 0);
  CHECK_FALSE(c.try_send(1));
  CHECK_FALSE(c.try_recv());
  CHECK(panic_message([&] { c.close(); }) == "close of nil channel");
}

TEST_CASE("chan: copies are the same channel; == compares identity") {
  auto a = make_chan<int>(1);
  auto b = a;
  auto other = make_chan<int>(1);
  CHECK(a);
  CHECK(a == b);
  CHECK_FALSE(a == other);
  CHECK(a != nullptr);
  b.send(7);
  CHECK(a.len() == 1);
  CHECK(a.recv() == 7);
  chan<int> moved = std::move(b);
  CHECK(moved == a);
  CHECK(b == nullptr);  // NOLINT(bugprone-use-after-move): a moved-from handle is nil
  b = moved;
  CHECK(b == a);
  auto& alias = b;
  b = alias;  // self-assignment keeps the reference
  CHECK(b == a);
  b = chan<int>{};
  CHECK(!b);
}

TEST_CASE("chan: len and cap") {
  auto c = make_chan<int>(10);
  CHECK(c.len() == 0);
  CHECK(c.cap() == 10);
  for (int i = 0; i < 3; ++i) c.send(i);
  CHECK(c.len() == 3);
  c.recv();
  CHECK(c.len() == 2);
  auto u = make_chan<int>();
  CHECK(u.len() == 0);
  CHECK(u.cap() == 0);
}

TEST_CASE("chan: make_chan with an impossible size panics, like makechan") {
  CHECK(panic_message([] { make_chan<int>(static_cast<std::size_t>(-1)); }) ==
        "makechan: size out of range");
  CHECK(panic_message([] { make_chan<big>(std::size_t{1} << 62); }) == "makechan: size out of range");
}

TEST_CASE("chan: a buffered channel is FIFO and never blocks while it has room") {
  auto c = make_chan<int>(100);
  for (int i = 0; i < 100; ++i) CHECK(c.try_send(i));
  CHECK_FALSE(c.try_send(100));  // full
  for (int i = 0; i < 100; ++i) CHECK(c.recv() == i);
  CHECK_FALSE(c.try_recv());
  // Wrap around the ring several times.
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 70; ++i) c << round * 1000 + i;
    for (int i = 0; i < 70; ++i) CHECK(c.recv() == round * 1000 + i);
  }
}

TEST_CASE("chan: an unbuffered send completes only when a receiver took the value") {
  csp_test::with_procs([](int) {
    auto c = make_chan<int>();
    auto done = make_chan<>(1);
    std::atomic<bool> sent{false};
    go([=, &sent] {
      c.send(42);
      sent = true;
      done.send({});
    });
    REQUIRE(wait_state("chan send", 1));
    std::this_thread::sleep_for(5ms);
    CHECK_FALSE(sent.load());  // still waiting for a receiver
    CHECK(c.len() == 0);       // and the value is not buffered anywhere
    CHECK(c.recv() == 42);
    done.recv();
    CHECK(sent.load());
  });
}

TEST_CASE("chan: try_send on an unbuffered channel succeeds only with a waiting receiver") {
  csp_test::with_procs({1, 2}, [](int) {
    auto c = make_chan<int>();
    CHECK_FALSE(c.try_send(1));
    auto got = make_chan<int>(1);
    go([=] { got.send(c.recv().value_or(-1)); });
    REQUIRE(wait_state("chan receive", 1));
    CHECK(c.try_send(5));
    CHECK(got.recv() == 5);
  });
}

TEST_CASE("chan: try_recv on an unbuffered channel succeeds only with a waiting sender") {
  csp_test::with_procs({1, 2}, [](int) {
    auto c = make_chan<int>();
    CHECK_FALSE(c.try_recv());
    auto done = make_chan<>(1);
    go([=] {
      c.send(9);
      done.send({});
    });
    REQUIRE(wait_state("chan send", 1));
    CHECK(c.try_recv() == 9);
    done.recv();
  });
}

TEST_CASE("chan: blocked receivers are served in FIFO order") {
  csp_test::with_procs([](int) {
    auto c = make_chan<int>();
    auto out = make_chan<std::pair<int, int>>(8);
    for (int r = 0; r < 4; ++r) {
      go([=] { out.send({r, c.recv().value_or(-1)}); });
      REQUIRE(wait_state("chan receive", r + 1));  // r is queued before r+1 starts
    }
    for (int i = 0; i < 4; ++i) c.send(100 + i);
    int seen = 0;
    for (int i = 0; i < 4; ++i) {
      auto [r, v] = *out.recv();
      CHECK(v == 100 + r);  // the r-th receiver to wait got the r-th value
      seen |= 1 << r;
    }
    CHECK(seen == 0xF);
  });
}

TEST_CASE("chan: blocked senders are served in FIFO order") {
  csp_test::with_procs([](int) {
    for (std::size_t cap : {0u, 2u}) {
      CAPTURE(cap);
      auto c = make_chan<int>(cap);
      for (std::size_t i = 0; i < cap; ++i) c.send(-1);
      auto done = make_chan<>(4);
      for (int s = 0; s < 4; ++s) {
        go([=] {
          c.send(s);
          done.send({});
        });
        REQUIRE(wait_state("chan send", s + 1));
      }
      for (std::size_t i = 0; i < cap; ++i) CHECK(c.recv() == -1);
      for (int s = 0; s < 4; ++s) CHECK(c.recv() == s);
      for (int s = 0; s < 4; ++s) done.recv();
    }
  });
}

TEST_CASE("chan: receiving from a closed channel drains the buffer, then reports closed") {
  auto c = make_chan<int>(3);
  c.send(1);
  c.send(2);
  c.close();
  CHECK(c.len() == 2);
  CHECK(c.recv() == 1);
  CHECK(c.try_recv() == 2);
  CHECK(c.recv() == std::nullopt);
  CHECK(c.recv() == std::nullopt);
  CHECK(c.try_recv() == std::nullopt);
  int x = 99;
  CHECK_FALSE((c >> x));
  CHECK(x == 0);  // out = T{}
}

TEST_CASE("chan: misuse panics with Go's messages") {
  auto c = make_chan<int>(1);
  c.close();
  CHECK(panic_message([&] { c.send(1); }) == "send on closed channel");
  CHECK(panic_message([&] { c << 1; }) == "send on closed channel");
  CHECK(panic_message([&] { c.try_send(1); }) == "send on closed channel");
  CHECK(panic_message([&] { c.close(); }) == "close of closed channel");
  CHECK(c.len() == 0);
  try {
    c.send(1);
  } catch (const std::logic_error&) {  // csp::panic is a logic_error
  }
}

TEST_CASE("chan: close wakes every blocked receiver") {
  csp_test::with_procs([](int) {
    auto c = make_chan<int>();
    auto results = make_chan<bool>(8);
    for (int i = 0; i < 8; ++i) go([=] { results.send(c.recv().has_value()); });
    REQUIRE(wait_state("chan receive", 8));
    c.close();
    for (int i = 0; i < 8; ++i) CHECK(results.recv() == false);
  });
}

TEST_CASE("chan: close makes every blocked sender panic in its own goroutine") {
  csp_test::with_procs([](int) {
    for (std::size_t cap : {0u, 1u}) {
      auto c = make_chan<int>(cap);
      if (cap) c.send(0);
      auto results = make_chan<std::string>(8);
      for (int i = 0; i < 6; ++i) {
        go([=] {
          try {
            c.send(i);
            results.send("sent");
          } catch (const csp::panic& p) {
            results.send(p.what());
          }
        });
      }
      REQUIRE(wait_state("chan send", 6));
      c.close();
      for (int i = 0; i < 6; ++i) CHECK(results.recv() == "send on closed channel");
      if (cap) CHECK(c.recv() == 0);  // the buffered value survives the close
      CHECK(c.recv() == std::nullopt);
    }
  });
}

TEST_CASE("chan: operations on a nil channel block forever") {
  // These goroutines and threads never finish: outside with_procs, on purpose.
  chan<int> nil;
  static std::atomic<int> returned{0};
  int before_recv = count_state("chan receive (nil chan)");
  int before_send = count_state("chan send (nil chan)");
  go([=] {
    nil.recv();
    returned++;
  });
  go([=] {
    nil.send(1);
    returned++;
  });
  std::thread([=] {
    nil.recv();
    returned++;
  }).detach();
  CHECK(wait_state("chan receive (nil chan)", before_recv + 1));
  CHECK(wait_state("chan send (nil chan)", before_send + 1));
  std::this_thread::sleep_for(20ms);
  CHECK(returned.load() == 0);
  // Non-blocking forms on nil simply fail.
  CHECK_FALSE(nil.try_send(1));
  CHECK_FALSE(nil.try_recv());
}

TEST_CASE("chan: operator<< and operator>>") {
  auto c = make_chan<std::string>(4);
  c << "a" << "b";
  std::string s;
  CHECK((c >> s));
  CHECK(s == "a");
  CHECK((c >> s));
  CHECK(s == "b");
  c.close();
  CHECK_FALSE((c >> s));
  CHECK(s.empty());
}

TEST_CASE("chan: range-for receives until closed and drained") {
  csp_test::with_procs([](int) {
    auto c = make_chan<int>(3);
    go([=] {
      for (int i = 0; i < 50; ++i) c.send(i);
      c.close();
    });
    int expect = 0;
    for (int v : c) CHECK(v == expect++);
    CHECK(expect == 50);
  });
}

TEST_CASE("chan: send_only and recv_only views") {
  auto c = make_chan<int>(2);
  send_only<int> tx = c;
  recv_only<int> rx = c;
  send_only<int> nil_tx;
  recv_only<int> nil_rx;
  CHECK(tx);
  CHECK(rx);
  CHECK(!nil_tx);
  CHECK(!nil_rx);
  CHECK(nil_rx == nullptr);
  CHECK(rx == recv_only<int>(c));
  CHECK(rx == c);
  CHECK(tx == c);
  CHECK(tx.cap() == 2);
  tx << 1;
  CHECK(tx.try_send(2));
  CHECK(rx.len() == 2);
  int x = 0;
  CHECK((rx >> x));
  CHECK(x == 1);
  CHECK(rx.try_recv() == 2);
  tx.close();
  for (int v : rx) FAIL("unexpected value ", v);
  static_assert(!can_send_on<recv_only<int>>);
  static_assert(!can_close<recv_only<int>>);
  static_assert(!can_recv_on<send_only<int>>);
  static_assert(can_send_on<chan<int>> && can_close<chan<int>> && can_recv_on<chan<int>>);
  static_assert(std::is_convertible_v<chan<int>, send_only<int>>);
  static_assert(std::is_convertible_v<chan<int>, recv_only<int>>);
  static_assert(!std::is_convertible_v<recv_only<int>, chan<int>>);
}

TEST_CASE("chan: chan<> carries csp::unit and costs no buffer") {
  auto c = make_chan(3);
  static_assert(std::is_same_v<decltype(c), chan<unit>>);
  c.send({});
  c << unit{};
  CHECK(c.len() == 2);
  CHECK(c.recv() == unit{});
  // Go's zero-size channels allocate no buffer: a huge capacity is fine.
  auto huge = make_chan<unit>(std::size_t{1} << 40);
  CHECK(huge.cap() == std::size_t{1} << 40);
  for (int i = 0; i < 1000; ++i) huge.send({});
  CHECK(huge.len() == 1000);
  for (int i = 0; i < 1000; ++i) CHECK(huge.try_recv());
}

TEST_CASE("chan: move-only elements") {
  csp_test::with_procs({1, 2}, [](int) {
    for (std::size_t cap : {0u, 1u, 16u}) {
      auto c = make_chan<std::unique_ptr<int>>(cap);
      go([=] {
        for (int i = 0; i < 40; ++i) c.send(std::make_unique<int>(i));
        auto p = std::make_unique<int>(40);
        while (!c.try_send(std::move(p))) runtime::gosched();
        CHECK(p == nullptr);  // moved only on success
        c.close();
      });
      int expect = 0;
      for (std::unique_ptr<int> p : c) CHECK(*p == expect++);
      CHECK(expect == 41);
    }
  });
  auto c = make_chan<std::unique_ptr<int>>(1);
  auto p = std::make_unique<int>(1);
  CHECK(c.try_send(std::move(p)));
  auto q = std::make_unique<int>(2);
  CHECK_FALSE(c.try_send(std::move(q)));
  CHECK(q != nullptr);  // a failed try_send leaves its value alone
  CHECK(**c.recv() == 1);
  // Destroying a channel destroys what it still buffers (ASan checks the leak).
  c.send(std::move(q));
}

TEST_CASE("chan: non-default-constructible elements; operator>> is absent") {
  static_assert(!can_shift_out<no_default>);
  static_assert(can_shift_out<int>);
  auto c = make_chan<no_default>(1);
  c.send(no_default{3});
  CHECK(c.recv()->v == 3);
  c.send(no_default{4});
  c.close();
  int sum = 0;
  for (no_default v : c) sum += v.v;
  CHECK(sum == 4);
}

TEST_CASE("chan: large (4 KiB) elements through buffer and hand-off") {
  csp_test::with_procs({1, 2}, [](int) {
    for (std::size_t cap : {0u, 3u}) {
      auto c = make_chan<big>(cap);
      go([=] {
        for (int i = 0; i < 20; ++i) c.send(big(static_cast<unsigned char>(i)));
        c.close();
      });
      int i = 0;
      for (big b : c) CHECK(b.intact(static_cast<unsigned char>(i++)));
      CHECK(i == 20);
    }
  });
}

TEST_CASE("chan: copies and moves are minimal; a parked receiver gets the value directly") {
  csp_test::with_procs({1}, [](int) {
    auto c = make_chan<counted>(1);
    counted x(5);
    counted::reset();
    CHECK(c.try_send(x));  // lvalue try_send copies once, into the buffer
    CHECK(counted::copies == 1);
    CHECK(counted::moves == 0);
    counted::reset();
    [[maybe_unused]] auto v = c.recv();  // buffer -> optional: one move
    CHECK(counted::moves == 1);

    auto got = make_chan<int>(1);
    go([=] {
      auto r = c.recv();  // parks: the buffer is empty
      got.send(r ? r->v : -1);
    });
    REQUIRE(wait_state("chan receive", 1));
    counted::reset();
    counted y(9);
    CHECK(c.try_send(std::move(y)));
    // Straight into the receiver's optional: one move, the buffer untouched.
    CHECK(counted::moves == 1);
    CHECK(c.len() == 0);
    CHECK(got.recv() == 9);
  });
}

TEST_CASE("chan: a throwing move never loses, duplicates or corrupts") {
  SUBCASE("into the buffer: nothing changes; the sender keeps its value") {
    auto c = make_chan<fragile>(2);
    fragile a(1);
    fragile::throws_left = 1;
    CHECK_THROWS_AS(c.try_send(std::move(a)), std::runtime_error);
    CHECK(a.v == 1);
    CHECK(c.len() == 0);
    CHECK(c.try_send(std::move(a)));
    CHECK(a.v == -1);
    CHECK(c.len() == 1);
    CHECK(c.recv()->v == 1);
  }
  SUBCASE("out of the buffer: the value stays buffered for the next receive") {
    auto c = make_chan<fragile>(2);
    c.send(fragile(1));
    c.send(fragile(2));
    fragile::throws_left = 1;
    CHECK_THROWS_AS(c.recv(), std::runtime_error);
    CHECK(c.len() == 2);
    CHECK(c.recv()->v == 1);
    CHECK(c.recv()->v == 2);
  }
  SUBCASE("to a parked receiver: it stays parked, first in line") {
    csp_test::with_procs({1, 2}, [](int) {
      auto c = make_chan<fragile>();
      auto got = make_chan<int>(2);
      go([=] { got.send(c.recv()->v); });
      REQUIRE(wait_state("chan receive", 1));
      go([=] { got.send(c.recv()->v + 100); });
      REQUIRE(wait_state("chan receive", 2));
      fragile a(7);
      fragile::throws_left = 1;
      CHECK_THROWS_AS(c.try_send(std::move(a)), std::runtime_error);
      CHECK(a.v == 7);
      CHECK(count_state("chan receive") >= 2);
      CHECK(c.try_send(std::move(a)));
      CHECK(got.recv() == 7);  // the first receiver still got the first value
      c.send(fragile(8));
      CHECK(got.recv() == 108);
    });
  }
  SUBCASE("from a parked sender: the sender's send throws; the receiver goes on waiting") {
    // The exception is the value's owner's, as on every way in: the
    // receiver (before: it threw in the receiver, and the sender stayed
    // parked) never sees a sender's move fail.
    csp_test::with_procs({1, 2}, [](int) {
      auto c = make_chan<fragile>();
      auto outcome = make_chan<std::string>(1);
      go([=] {
        try {
          c.send(fragile(5));
          outcome.send("sent");
        } catch (const std::runtime_error& e) {
          outcome.send(e.what());
        }
      });
      REQUIRE(wait_state("chan send", 1));
      auto got = make_chan<int>(1);
      fragile::throws_left = 1;
      go([=] { got.send(c.recv()->v); });
      CHECK(outcome.recv() == "fragile move");
      REQUIRE(wait_state("chan receive", 1));  // waits for the next sender
      c.send(fragile(6));
      CHECK(got.recv() == 6);
    });
  }
}

// The refill failure needs the second of two moves in one receive to throw;
// fragile_nth counts moves to arm exactly that one.
namespace {
struct fragile_nth {
  static inline std::atomic<int> countdown{0};  // throw when it reaches 0 from 1
  int v;
  explicit fragile_nth(int x) : v(x) {}
  fragile_nth(fragile_nth&& o) : v(o.v) {
    int c = countdown.load();
    if (c > 0) {
      countdown.store(c - 1);
      if (c == 1) throw std::runtime_error("refill move");
    }
    o.v = -1;
  }
};
}  // namespace

TEST_CASE("chan: a refill that throws is delivered to its sender; the receive still succeeds") {
  csp_test::with_procs({1, 2}, [](int) {
    auto c = make_chan<fragile_nth>(1);
    c.send(fragile_nth(1));
    auto result = make_chan<std::string>(4);
    for (int s = 2; s <= 3; ++s) {
      go([=] {
        try {
          c.send(fragile_nth(s));
          result.send("sent " + std::to_string(s));
        } catch (const std::runtime_error& e) {
          result.send(e.what());
        }
      });
      REQUIRE(wait_state("chan send", s - 1));
    }
    fragile_nth::countdown = 2;  // 1st move (buffer -> us) fine, 2nd (sender 2 -> buffer) throws
    auto v = c.recv();
    REQUIRE(v);
    CHECK(v->v == 1);
    // Sender 2 got the exception its value's move threw; the receiver went on
    // to sender 3, so the buffer is full again and "buffer not full implies
    // no waiting sender" still holds.
    std::vector<std::string> outcomes{*result.recv(), *result.recv()};
    std::sort(outcomes.begin(), outcomes.end());
    CHECK(outcomes == std::vector<std::string>{"refill move", "sent 3"});
    CHECK(c.len() == 1);
    CHECK(c.recv()->v == 3);
  });
}

TEST_CASE("chan: ping-pong between goroutines") {
  csp_test::with_procs([](int) {
    auto ping = make_chan<int>(), pong = make_chan<int>();
    go([=] {
      for (int v : ping) pong.send(v + 1);
      pong.close();
    });
    for (int i = 0; i < 2000; i += 2) {
      ping.send(i);
      CHECK(pong.recv() == i + 1);
    }
    ping.close();
    CHECK(pong.recv() == std::nullopt);
  });
}

TEST_CASE("chan: ping-pong between a goroutine and a plain thread") {
  csp_test::with_procs({1, 2}, [](int) {
    auto ping = make_chan<int>(), pong = make_chan<int>();
    go([=] {
      for (int v : ping) pong.send(v * 2);
      pong.close();
    });
    std::thread client([=] {
      for (int i = 0; i < 1000; ++i) {
        ping.send(i);
        CHECK(pong.recv() == 2 * i);
      }
      ping.close();
      CHECK(pong.recv() == std::nullopt);
    });
    client.join();
  });
}

TEST_CASE("chan: two plain threads rendezvous with no goroutine involved") {
  auto a = make_chan<int>(), b = make_chan<int>();
  std::thread t([=] {
    for (int v : a) b.send(v + 1);
    b.close();
  });
  for (int i = 0; i < 2000; ++i) {
    a.send(i);
    CHECK(b.recv() == i + 1);
  }
  a.close();
  CHECK(b.recv() == std::nullopt);
  t.join();
}

TEST_CASE("chan: happens-before edges of the Go memory model") {
  csp_test::with_procs([](int) {
    // Plain (non-atomic) data published through channels: TSan proves the
    // edges; the values prove no stale read.
    SUBCASE("send happens before the receive completes") {
      auto c = make_chan<int*>(1);
      int data = 0;
      go([=, &data] {
        data = 42;
        c.send(&data);
      });
      CHECK(**c.recv() == 42);
    }
    SUBCASE("close happens before a receive that reports it") {
      auto c = make_chan<>();
      int data = 0;
      go([=, &data] {
        data = 7;
        c.close();
      });
      CHECK_FALSE(c.recv());
      CHECK(data == 7);
    }
    SUBCASE("an unbuffered receive happens before the send completes") {
      auto c = make_chan<>();
      int data = 0;
      auto done = make_chan<>(1);
      go([=, &data] {
        data = 9;
        c.recv();
        done.send({});
      });
      c.send({});
      CHECK(data == 9);
      done.recv();
    }
    SUBCASE("the k-th receive happens before the (k+C)-th send completes: a counting semaphore") {
      auto sem = make_chan<>(1);  // C = 1: a mutex
      long counter = 0;           // guarded by sem
      auto done = make_chan<>(4);
      for (int g = 0; g < 4; ++g) {
        go([=, &counter] {
          for (int i = 0; i < 500; ++i) {
            sem.send({});
            ++counter;
            sem.recv();
          }
          done.send({});
        });
      }
      for (int g = 0; g < 4; ++g) done.recv();
      CHECK(counter == 2000);
    }
  });
}

TEST_CASE("chan: the last handle frees the channel and its buffered values") {
  auto p = std::make_shared<int>(1);
  {
    auto c = make_chan<std::shared_ptr<int>>(4);
    c.send(p);
    c.send(p);
    CHECK(p.use_count() == 3);
    send_only<std::shared_ptr<int>> keep = c;
    c = {};
    CHECK(p.use_count() == 3);  // keep still holds the channel
  }
  CHECK(p.use_count() == 1);
}
