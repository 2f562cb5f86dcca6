// chan_go_ports_test.cpp — Go's own channel tests, ported in our words.
//
// Each TEST_CASE names its source in the Go tree: go/test/chan/*.go,
// go/test/closedchan.go, go/test/chancap.go, go/src/runtime/chan_test.go.
// Where Go's program relies on the process exiting with goroutines still
// blocked (infinite generators), ours closes its channels instead, so that
// with_procs can check that nothing leaked.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <new>
#include <numeric>
#include <optional>
#include <queue>
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

// ---- allocation counting, for go/test/chan/select2 -------------------------
// Counts every global operator new in this executable (all threads).
namespace {
std::atomic<long> g_allocs{0};
}
void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

#if defined(CSP_ASAN) || defined(CSP_TSAN)
constexpr int scale = 10;  // sanitizers run 5-15x slower
#else
constexpr int scale = 1;
#endif

bool panics(const std::function<void()>& f) {
  try {
    f();
  } catch (const csp::panic&) {
    return true;
  }
  return false;
}

// finishes_within runs f in a goroutine and reports whether it returned
// within `limit` (Go's testBlock). A goroutine that blocks is left behind.
bool finishes_within(std::function<void()> f, std::chrono::milliseconds limit) {
  auto done = make_chan<>(1);
  go([=] {
    f();
    done.send({});
  });
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done.try_recv()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return static_cast<bool>(done.try_recv());
}

// blocks: f is still blocked after 50 ms. completes: f returns, given all
// the time a loaded sanitized run may need (a fixed 50 ms both ways made an
// operation that completes look blocked under load).
bool blocks(std::function<void()> f) { return !finishes_within(std::move(f), 50ms); }
bool completes(std::function<void()> f) { return finishes_within(std::move(f), 20000ms); }

std::vector<int> primes_below(int n) {
  std::vector<bool> comp(static_cast<std::size_t>(n), false);
  std::vector<int> out;
  for (int i = 2; i < n; ++i) {
    if (comp[static_cast<std::size_t>(i)]) continue;
    out.push_back(i);
    for (int j = i * i; j < n; j += i) comp[static_cast<std::size_t>(j)] = true;
  }
  return out;
}

}  // namespace

// ---- sieve1 ------------------------------------------------------------------

TEST_CASE("go/test/chan/sieve1: a chain of filter goroutines finds the primes") {
  csp_test::with_procs([](int) {
    constexpr int limit = 542;  // the first 100 primes end at 541
    auto generate = [](send_only<int> ch) {
      for (int i = 2; i < limit; ++i) ch.send(i);
      ch.close();
    };
    auto filter = [](recv_only<int> in, send_only<int> out, int prime) {
      for (int i : in)
        if (i % prime != 0) out.send(i);
      out.close();
    };
    chan<int> ch = make_chan<int>();
    go(generate, ch);
    std::vector<int> got;
    for (;;) {
      auto prime = ch.recv();
      if (!prime) break;
      got.push_back(*prime);
      auto next = make_chan<int>();
      go(filter, ch, next, *prime);
      ch = next;
    }
    CHECK(got == primes_below(limit));
    CHECK(got.size() == 100);
  });
}

// ---- sieve2 ------------------------------------------------------------------

TEST_CASE("go/test/chan/sieve2: merging channels of multiples, fed back from the primes found") {
  // Candidates (the odd numbers) arrive on a channel. Each prime found
  // starts a goroutine producing its odd multiples from p*p, and hands that
  // channel (over a channel of channels) to the merger, which keeps a heap
  // of peeked multiples channels. The merger selects between accepting a
  // new source and answering "is c composite?" queries, advancing its
  // sources up to c: Go's sieve2 merges its multiples the same way.
  csp_test::with_procs([](int) {
    constexpr int limit = 3000;
    struct query {
      int candidate;
      chan<bool> reply;
    };
    auto candidates = make_chan<int>(16);
    go([=] {
      for (int i = 3; i < limit; i += 2) candidates.send(i);
      candidates.close();
    });
    auto sources = make_chan<recv_only<int>>();
    auto queries = make_chan<query>();
    auto merger_done = make_chan<>();
    go([=] {
      struct peeked {
        int head;
        recv_only<int> rest;
        bool operator>(const peeked& o) const { return head > o.head; }
      };
      std::priority_queue<peeked, std::vector<peeked>, std::greater<>> heap;
      chan<recv_only<int>> more = sources;
      chan<query> asks = queries;
      while (more || asks) {
        std::optional<recv_only<int>> src;
        std::optional<query> q;
        switch (select(recv(more, src), recv(asks, q))) {
          case 0:
            if (!src) more = {};  // closed: a nil channel is never chosen again
            else if (auto v = src->recv()) heap.push({*v, *src});
            break;
          case 1:
            if (!q) {
              asks = {};
              break;
            }
            while (!heap.empty() && heap.top().head < q->candidate) {
              peeked p = heap.top();
              heap.pop();
              if (auto v = p.rest.recv()) heap.push({*v, p.rest});
            }
            q->reply.send(!heap.empty() && heap.top().head == q->candidate);
            break;
        }
      }
      for (; !heap.empty(); heap.pop()) {  // let the producers finish
        for (auto r = heap.top().rest; r.recv();) {
        }
      }
      merger_done.close();
    });
    std::vector<int> got{2};
    auto reply = make_chan<bool>();
    for (int c : candidates) {
      queries.send({c, reply});
      if (*reply.recv()) continue;
      got.push_back(c);
      if (c * c < limit) {
        auto multiples = make_chan<int>();
        go([=] {
          for (int m = c * c; m < limit; m += 2 * c) multiples.send(m);
          multiples.close();
        });
        sources.send(multiples);  // a rendezvous: merged before the next query
      }
    }
    sources.close();
    queries.close();
    merger_done.recv();
    CHECK(got == primes_below(limit));
  });
}

// ---- powser1 -----------------------------------------------------------------

namespace powser {

// rat is an exact rational with a positive denominator, kept reduced.
struct rat {
  std::int64_t num = 0, den = 1;
  rat() = default;
  rat(std::int64_t n, std::int64_t d = 1) : num(n), den(d) {  // NOLINT: implicit from integers
    if (den < 0) num = -num, den = -den;
    std::int64_t g = std::gcd(num < 0 ? -num : num, den);
    if (g > 1) num /= g, den /= g;
  }
  friend rat operator+(rat a, rat b) { return {a.num * b.den + b.num * a.den, a.den * b.den}; }
  friend rat operator*(rat a, rat b) { return {a.num * b.num, a.den * b.den}; }
  friend bool operator==(rat a, rat b) { return a.num == b.num && a.den == b.den; }
};

using series = recv_only<rat>;
constexpr int terms = 10;  // every series is cut off after this many coefficients

// drain reads a series to its end, so its producer can finish.
inline void drain(series s) {
  while (s.recv()) {
  }
}

// monomial: c * x^0 (then zeros).
inline series constant(rat c) {
  auto out = make_chan<rat>();
  go([=] {
    for (int i = 0; i < terms; ++i) out.send(i == 0 ? c : rat(0));
    out.close();
  });
  return out;
}

inline series ones() {
  auto out = make_chan<rat>();
  go([=] {
    for (int i = 0; i < terms; ++i) out.send(1);
    out.close();
  });
  return out;
}

inline series add(series a, series b) {
  auto out = make_chan<rat>();
  go([=] {
    for (;;) {
      auto x = a.recv(), y = b.recv();
      if (!x || !y) break;
      out.send(*x + *y);
    }
    out.close();
    drain(a);
    drain(b);
  });
  return out;
}

inline series cmul(rat c, series a) {
  auto out = make_chan<rat>();
  go([=] {
    for (rat x : a) out.send(c * x);
    out.close();
  });
  return out;
}

// integ: the integral with constant term 0. It emits its first term before
// reading, which is what lets a series be defined by feeding back into it.
inline series integ(series a) {
  auto out = make_chan<rat>();
  go([=] {
    out.send(0);
    for (int i = 1; i < terms; ++i) {
      auto x = a.recv();
      if (!x) break;
      out.send(*x * rat(1, i));
    }
    out.close();
    drain(a);
  });
  return out;
}

inline series mul(series a, series b) {
  auto out = make_chan<rat>();
  go([=] {
    std::vector<rat> as, bs;
    for (;;) {
      auto x = a.recv(), y = b.recv();
      if (!x || !y) break;
      as.push_back(*x);
      bs.push_back(*y);
      rat c = 0;
      for (std::size_t i = 0; i < as.size(); ++i) c = c + as[i] * bs[as.size() - 1 - i];
      out.send(c);
    }
    out.close();
    drain(a);
    drain(b);
  });
  return out;
}

// split copies one series into two, serving whichever reader is ready: a
// select over reading the input and writing each output, with a nil
// channel standing for "nothing to do on this side" (Go's idiom).
inline std::pair<series, series> split(series in) {
  auto b = make_chan<rat>(), c = make_chan<rat>();
  go([=] {
    std::deque<rat> qb, qc;
    recv_only<rat> src = in;
    while (src || !qb.empty() || !qc.empty()) {
      chan<rat> to_b = qb.empty() ? chan<rat>{} : b;
      chan<rat> to_c = qc.empty() ? chan<rat>{} : c;
      rat hb = qb.empty() ? rat() : qb.front(), hc = qc.empty() ? rat() : qc.front();
      std::optional<rat> v;
      switch (select(recv(src, v), send(to_b, hb), send(to_c, hc))) {
        case 0:
          if (v) qb.push_back(*v), qc.push_back(*v);
          else src = {};
          break;
        case 1: qb.pop_front(); break;
        case 2: qc.pop_front(); break;
      }
    }
    b.close();
    c.close();
  });
  return {b, c};
}

// forward sends everything from `from` into `to` and closes it: the wire
// that closes a feedback loop (Go declares the channel before it is fed).
inline void forward(series from, chan<rat> to) {
  go([=] {
    for (rat x : from) to.send(x);
    to.close();
  });
}

inline std::vector<rat> collect(series s) {
  std::vector<rat> v;
  for (rat x : s) v.push_back(x);
  return v;
}

}  // namespace powser

TEST_CASE("go/test/chan/powser1: power series as networks of goroutines") {
  using namespace powser;
  csp_test::with_procs([](int) {
    // (1/(1-x))^2 = sum (n+1) x^n
    {
      auto sq = collect(mul(ones(), ones()));
      REQUIRE(sq.size() == terms);
      for (int n = 0; n < terms; ++n) CHECK(sq[static_cast<std::size_t>(n)] == rat(n + 1));
    }
    // exp: e = 1 + integ(e), one feedback loop through split.
    {
      auto loop = make_chan<rat>();
      auto [out, back] = split(add(constant(1), integ(loop)));
      forward(back, loop);
      auto e = collect(out);
      REQUIRE(e.size() == terms);
      std::int64_t fact = 1;
      for (int n = 0; n < terms; ++n) {
        if (n > 0) fact *= n;
        CHECK(e[static_cast<std::size_t>(n)] == rat(1, fact));
      }
    }
    // sin and cos: s = integ(c), c = 1 - integ(s), two crossed loops.
    {
      auto cin = make_chan<rat>(), sin_in = make_chan<rat>();
      auto [s_out, s_back] = split(integ(cin));
      auto [c_out, c_back] = split(add(constant(1), cmul(-1, integ(sin_in))));
      forward(s_back, sin_in);
      forward(c_back, cin);
      // Read both together: each loop feeds the other.
      std::vector<rat> s, c;
      for (;;) {
        auto x = s_out.recv(), y = c_out.recv();
        if (!x || !y) break;
        s.push_back(*x);
        c.push_back(*y);
      }
      drain(s_out);
      drain(c_out);
      REQUIRE(s.size() == terms);
      std::int64_t fact = 1;
      for (int n = 0; n < terms; ++n) {
        if (n > 0) fact *= n;
        rat term = rat((n / 2) % 2 ? -1 : 1, fact);
        CHECK(s[static_cast<std::size_t>(n)] == (n % 2 ? term : rat(0)));
        CHECK(c[static_cast<std::size_t>(n)] == (n % 2 ? rat(0) : term));
      }
    }
  });
}

// ---- select ------------------------------------------------------------------

TEST_CASE("go/test/chan/select: every send value is evaluated on each select; nil cases drop out") {
  unsigned counter = 0, shift = 0;
  auto get_value = [&] {
    ++counter;
    return 1u << shift;
  };
  auto send_both = [&](chan<unsigned> a, chan<unsigned> b) {
    int n = 0;
    for (;;) {
      switch (select(send(a, get_value()), send(b, get_value()), default_case)) {
        case 0: ++n, a = {}; break;
        case 1: ++n, b = {}; break;
        default: return n;
      }
      ++shift;
    }
  };
  auto a = make_chan<unsigned>(1), b = make_chan<unsigned>(1);
  CHECK(send_both(a, b) == 2);
  CHECK((*a.recv() | *b.recv()) == 3u);
  CHECK(send_both(a, {}) == 1);
  CHECK(counter == 10);
}

// ---- select2 -----------------------------------------------------------------

TEST_CASE("go/test/chan/select2: selects, sends and receives do not allocate") {
  csp_test::with_procs({1, 2}, [](int) {
    auto c = make_chan<int>(), dummy = make_chan<int>();
    const int n = 20000 / scale;
    auto round = [&] {
      go([=] {
        for (int i = 0; i < n; ++i) c.send(1);
      });
      for (int i = 0; i < n; ++i) {
        switch (select(recv(c), recv(dummy))) {
          case 1: FAIL("dummy chosen"); break;
          default: break;
        }
      }
    };
    round();  // warm up (stacks, run queues)
    long before = g_allocs.load();
    round();
    long allocs = g_allocs.load() - before;
    INFO("allocations for ", n, " selects: ", allocs);
    CHECK(allocs < n / 100);
  });
}

// ---- select3 -----------------------------------------------------------------

TEST_CASE("go/test/chan/select3: which operations block, which panic") {
  // Goroutines that block forever are left behind, as in Go: no with_procs.
  chan<int> nilch;
  auto closedch = make_chan<int>();
  closedch.close();

  CHECK(blocks([=] { nilch.send(7); }));
  CHECK(blocks([=] { nilch.recv(); }));
  CHECK_FALSE(panics([=] {
    std::optional<int> x;
    if (select(send(nilch, 7), default_case) == 0) throw std::logic_error("unreachable");
    if (select(recv(nilch, x), default_case) == 0) throw std::logic_error("unreachable");
  }));
  CHECK(completes([] { make_chan<int>(1).send(7); }));
  CHECK(completes([=] {
    for (int i = 0; i < 10; ++i) {
      CHECK(closedch.recv() == std::nullopt);
      int x = 5;
      CHECK_FALSE((closedch >> x));
      CHECK(x == 0);
    }
  }));
  CHECK(panics([=] { closedch.send(7); }));
  // (Channels that a blocked goroutine waits on are closed at the end, so
  // that only nil-channel and empty-select goroutines stay behind.)
  auto unready = make_chan<int>(), unready2 = make_chan<int>(), self = make_chan<int>();
  CHECK(blocks([=] { unready.recv(); }));
  CHECK(blocks([] { select(); }));
  CHECK(blocks([=] { select(recv(nilch)); }));
  CHECK(blocks([=] { select(send(nilch, 7)); }));
  CHECK(blocks([=] { select(recv(nilch), send(nilch, 7)); }));
  CHECK(blocks([=] { select(recv(unready2)); }));
  CHECK(completes([] { select(default_case); }));
  CHECK(completes([=] { select(recv(nilch), default_case); }));
  CHECK(completes([=] { select(send(nilch, 7), default_case); }));
  CHECK(completes([] {
    auto ch = make_chan<int>(1);
    CHECK(select(send(ch, 7), default_case) == 0);
  }));
  CHECK(completes([] {
    auto ch = make_chan<int>(1);
    ch.send(7);
    CHECK(select(recv(ch), default_case) == 0);
  }));
  CHECK(completes([=] { select(recv(closedch)); }));
  CHECK(completes([=] {
    std::optional<int> x = 1;
    select(recv(closedch, x));
    CHECK(!x);
  }));
  CHECK(panics([=] { select(send(closedch, 7)); }));
  // A select does not get confused if it sees itself.
  CHECK(blocks([=] {
    std::optional<int> x;
    select(send(self, 1), recv(self, x));  // woken through the receive by close below
  }));
  unready.close();
  unready2.close();
  self.close();
}

// ---- select4 -----------------------------------------------------------------

TEST_CASE("go/test/chan/select4: only the chosen case's destination is written") {
  auto c = make_chan<int>(1), c1 = make_chan<int>();
  c.send(42);
  std::optional<int> untouched = -7, x;
  CHECK(select(recv(c1, untouched), recv(c, x)) == 1);
  CHECK(x == 42);
  CHECK(untouched == -7);
}

// ---- select5 -----------------------------------------------------------------

TEST_CASE("go/test/chan/select5: each channel and value expression is evaluated exactly once") {
  // Go's generated program also checks left-to-right order; C++ leaves the
  // order of function arguments unspecified, so we check the counts.
  int evals_c = 0, evals_v = 0, evals_d = 0;
  auto c = make_chan<int>(1), d = make_chan<int>(1);
  auto ch = [&] { ++evals_c; return c; };
  auto val = [&] { ++evals_v; return 5; };
  auto dst_ch = [&] { ++evals_d; return d; };
  std::optional<int> got;
  CHECK(select(send(ch(), val()), recv(dst_ch(), got)) == 0);
  CHECK(evals_c == 1);
  CHECK(evals_v == 1);
  CHECK(evals_d == 1);
  CHECK(c.recv() == 5);
  d.send(6);
  CHECK(select(recv(dst_ch(), got), send(ch(), val()), default_case) < 2);
  CHECK(evals_c == 2);
  CHECK(evals_v == 2);
  CHECK(evals_d == 2);
}

// ---- select6 -----------------------------------------------------------------

TEST_CASE("go/test/chan/select6: a select's failed cases leave the queues intact (issue 2075)") {
  // Go's bug: with several waiters on c1 and the select last in its queue,
  // dequeuing the select's stale entry corrupted c1's queue, so later
  // waiters on c1 were never woken.
  csp_test::with_procs([](int) {
    auto c1 = make_chan<bool>(), c2 = make_chan<bool>(), c3 = make_chan<bool>();
    auto done = make_chan<>(2);
    go([=] {
      c1.recv();
      done.send({});
    });
    go([=] {
      std::optional<bool> v;
      switch (select(recv(c1, v), recv(c2, v))) {
        case 0: FAIL("dummy"); break;
        case 1: c3.send(true); break;
      }
      c1.recv();
      done.send({});
    });
    go([=] { c2.send(true); });
    c3.recv();
    c1.send(true);
    c1.send(true);
    done.recv();
    done.recv();
  });
}

// ---- select7 -----------------------------------------------------------------

TEST_CASE("go/test/chan/select7: select when discarding a value, every pairing") {
  csp_test::with_procs([](int) {
    using receiver = void (*)(recv_only<int>);
    receiver recvs[] = {
        [](recv_only<int> c) { c.recv(); },
        [](recv_only<int> c) { select(recv(c)); },
        [](recv_only<int> c) { select(recv(c), recv(make_chan<int>())); },
    };
    for (receiver r : recvs) {
      {
        auto c = make_chan<int>();
        go(r, c);
        runtime::gosched();
        c.send(1);
      }
      {
        auto c = make_chan<int>();
        go(r, c);
        runtime::gosched();
        select(send(c, 1));
      }
      {
        auto c = make_chan<int>();
        go(r, c);
        runtime::gosched();
        select(send(c, 1), send(make_chan<int>(), 1));
      }
    }
  });
}

// ---- doubleselect --------------------------------------------------------------

TEST_CASE("go/test/chan/doubleselect: two cases of one select never both run") {
  // If two cases both ran, one value would reach the receiver twice.
  csp_test::with_procs({2, 4}, [](int) {
    const int n = 20000 / scale;
    auto c1 = make_chan<int>(), c2 = make_chan<int>(), c3 = make_chan<int>(), c4 = make_chan<int>();
    auto cmux = make_chan<int>();
    go([=] {
      for (int i = 0; i < n; ++i) select(send(c1, i), send(c2, i), send(c3, i), send(c4, i));
      c1.close();
      c2.close();
      c3.close();
      c4.close();
    });
    auto done = make_chan<>(4);
    for (auto in : {c1, c2, c3, c4}) {
      go([=] {
        for (int v : in) cmux.send(v);
        done.send({});
      });
    }
    go([=] {
      for (int i = 0; i < 4; ++i) done.recv();
      cmux.close();
    });
    std::vector<bool> seen(static_cast<std::size_t>(n), false);
    int count = 0;
    for (int v : cmux) {
      REQUIRE_FALSE(seen[static_cast<std::size_t>(v)]);
      seen[static_cast<std::size_t>(v)] = true;
      ++count;
    }
    CHECK(count == n);
  });
}

// ---- fifo ----------------------------------------------------------------------

TEST_CASE("go/test/chan/fifo: buffered values and queued receivers are both FIFO") {
  csp_test::with_procs([](int) {
    constexpr int n = 10;
    // asynchronous: a buffered channel keeps order
    auto ch = make_chan<int>(n);
    for (int i = 0; i < n; ++i) ch.send(i);
    for (int i = 0; i < n; ++i) CHECK(ch.recv() == i);
    // synchronous: a chain of goroutines, each receiving from the shared
    // channel once its predecessor has; value i must reach goroutine i
    auto shared = make_chan<int>();
    auto start = make_chan<>();
    auto in = start;
    auto results = make_chan<int>(n);
    for (int i = 0; i < n; ++i) {
      auto out = make_chan<>();
      go([=] {
        in.recv();
        results.send(*shared.recv() == i ? 1 : 0);
        out.send({});
      });
      in = out;
    }
    start.send({});
    for (int i = 0; i < n; ++i) shared.send(i);
    in.recv();
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += *results.recv();
    CHECK(ok == n);
  });
}

// ---- goroutines ----------------------------------------------------------------

TEST_CASE("go/test/chan/goroutines: a value passed down a chain of goroutines") {
  csp_test::with_procs([](int) {
    // Go's 10000; a goroutine's creation costs far more under sanitizers.
    const int n = scale == 1 ? 10000 : 250;
    auto leftmost = make_chan<int>();
    auto right = leftmost;
    for (int i = 0; i < n; ++i) {
      auto left = right;
      right = make_chan<int>();
      go([](chan<int> l, chan<int> r) { l.send(1 + *r.recv()); }, left, right);
    }
    right.send(0);
    CHECK(leftmost.recv() == n);
  });
}

// ---- nonblock --------------------------------------------------------------------

namespace {
template <class T>
void nonblock_case(std::size_t buffer, T to_recv, T to_send) {
  constexpr int max_tries = 100000;  // polls, with gosched, before giving up
  auto c = make_chan<T>(buffer);
  auto sync = make_chan<bool>();
  CHECK_FALSE(c.try_recv());  // nothing to receive: must not block
  go([=] {
    CHECK(c.recv() == to_recv);
    sync.send(true);
  });
  bool sent = false;
  for (int i = 0; i < max_tries && !sent; ++i) {
    sent = select(send(c, to_recv), default_case) == 0;
    if (!sent) runtime::gosched();
  }
  CHECK(sent);
  sync.recv();
  go([=] {
    c.send(to_send);
    sync.send(true);
  });
  if (buffer > 0) sync.recv();
  std::optional<T> got;
  for (int i = 0; i < max_tries && !got; ++i) {
    if (select(recv(c, got), default_case) != 0) runtime::gosched();
  }
  CHECK(got == to_send);
  if (buffer == 0) sync.recv();
}
}  // namespace

TEST_CASE("go/test/chan/nonblock: non-blocking operations of several element types") {
  csp_test::with_procs([](int) {
    for (std::size_t buffer : {0u, 1u}) {
      nonblock_case<std::int32_t>(buffer, 123, 234);
      nonblock_case<std::int64_t>(buffer, 123456, 234567);
      nonblock_case<bool>(buffer, true, true);
      nonblock_case<std::string>(buffer, "hello", "hello again");
    }
  });
}

// ---- sendstmt --------------------------------------------------------------------

TEST_CASE("go/test/chan/sendstmt: a channel received from a channel, then sent on") {
  auto cc = make_chan<chan<int>>(1);
  auto c = make_chan<int>(1);
  cc.send(c);
  // select { case <-cc <- 2: default: panic }
  CHECK(select(send(*cc.recv(), 2), default_case) == 0);
  CHECK(c.recv() == 2);
  auto b = make_chan<bool>(1);
  b << (false || true);
  CHECK(b.recv() == true);
}

// ---- zerosize --------------------------------------------------------------------

TEST_CASE("go/test/chan/zerosize: channels of zero-sized types") {
  struct empty {};
  (void)make_chan<std::array<char, 0>>();
  (void)make_chan<std::array<char, 0>>(1);
  (void)make_chan<empty>();
  (void)make_chan<empty>(1);
  auto c = make_chan<>(1);
  c.send({});
  CHECK(c.recv() == unit{});
  auto a = make_chan<std::array<char, 0>>(2);
  a.send({});
  a.send({});
  CHECK(a.len() == 2);
  CHECK(a.recv());
}

// ---- closedchan ------------------------------------------------------------------

namespace {

// ops is one way to drive a channel: Go's XChan (plain operations), SChan
// (one-case selects) and SSChan (selects with an extra dummy case).
struct ops {
  const char* impl;
  std::function<void(chan<int>, int)> send;
  std::function<bool(chan<int>, int)> nbsend;
  std::function<std::optional<int>(chan<int>)> recv2;  // x, ok := <-c
  // nbrecv2: {selected, value}
  std::function<std::pair<bool, std::optional<int>>(chan<int>)> nbrecv2;
};

std::vector<ops> all_ops() {
  static auto dummy = make_chan<bool>();
  return {
      {"(<- operator)", [](chan<int> c, int x) { c.send(x); },
       [](chan<int> c, int x) { return select(send(c, x), default_case) == 0; },
       [](chan<int> c) { return c.recv(); },
       [](chan<int> c) {
         std::optional<int> v;
         bool sel = select(recv(c, v), default_case) == 0;
         return std::pair{sel, v};
       }},
      {"(select)", [](chan<int> c, int x) { select(send(c, x)); },
       [](chan<int> c, int x) { return select(default_case, send(c, x)) == 1; },
       [](chan<int> c) {
         std::optional<int> v;
         select(recv(c, v));
         return v;
       },
       [](chan<int> c) {
         std::optional<int> v;
         bool sel = select(default_case, recv(c, v)) == 1;
         return std::pair{sel, v};
       }},
      {"(select with dummy)", [](chan<int> c, int x) { select(send(c, x), recv(dummy)); },
       [](chan<int> c, int x) { return select(default_case, recv(dummy), send(c, x)) == 2; },
       [](chan<int> c) {
         std::optional<int> v;
         select(recv(dummy), recv(c, v));
         return v;
       },
       [](chan<int> c) {
         std::optional<int> v;
         bool sel = select(recv(dummy), default_case, recv(c, v)) == 2;
         return std::pair{sel, v};
       }},
  };
}

void closed_test1(const ops& o, chan<int> c) {
  CAPTURE(o.impl);
  for (int i = 0; i < 3; ++i) {
    CHECK(o.recv2(c) == std::nullopt);
    auto [selected, v] = o.nbrecv2(c);
    CHECK(selected);  // a closed channel is ready
    CHECK(v == std::nullopt);
  }
  CHECK(panics([&] { o.nbsend(c, 1); }));
  CHECK(o.recv2(c) == std::nullopt);  // the value was discarded
  CHECK(panics([&] { o.send(c, 2); }));
  CHECK(o.recv2(c) == std::nullopt);
}

}  // namespace

TEST_CASE("go/test/closedchan: receives from closed channels, through operations and selects") {
  auto closed_sync = [] {
    auto c = make_chan<int>();
    c.close();
    return c;
  };
  auto closed_async = [] {
    auto c = make_chan<int>(2);
    c.send(1);
    c.close();
    return c;
  };
  for (const ops& o : all_ops()) closed_test1(o, closed_sync());
  for (const ops& o : all_ops()) {
    CAPTURE(o.impl);
    for (const ops& first : all_ops()) {
      auto c = closed_async();
      // the buffered value is still delivered, however it is received
      CHECK(first.recv2(c) == 1);
      closed_test1(o, c);
      auto d = closed_async();
      auto [selected, v] = first.nbrecv2(d);
      CHECK(selected);
      CHECK(v == 1);
      closed_test1(o, d);
    }
  }
  chan<int> nil;
  CHECK(panics([&] { nil.close(); }));
  auto c = make_chan<int>();
  c.close();
  CHECK(panics([&] { c.close(); }));
}

// ---- chancap ---------------------------------------------------------------------

TEST_CASE("go/test/chancap: len and cap of buffered and unbuffered channels") {
  auto c = make_chan<int>(10);
  CHECK(c.len() == 0);
  CHECK(c.cap() == 10);
  for (int i = 0; i < 3; ++i) c.send(i);
  CHECK(c.len() == 3);
  CHECK(c.cap() == 10);
  c = make_chan<int>();
  CHECK(c.len() == 0);
  CHECK(c.cap() == 0);
}

// ---- runtime/chan_test.go --------------------------------------------------------

TEST_CASE("go/src/runtime/chan_test TestChan: blocking, closing, FIFO and len/cap for each capacity") {
  csp_test::with_procs({1, 4}, [](int) {
    const int n = 200 / scale;
    for (std::size_t cap : {0u, 1u, 2u, 10u, 100u}) {
      CAPTURE(cap);
      {  // receive from an empty channel blocks
        auto c = make_chan<int>(cap);
        std::atomic<bool> recv1{false}, recv2{false};
        auto done = make_chan<>(2);
        go([=, &recv1] {
          c.recv();
          recv1 = true;
          done.send({});
        });
        go([=, &recv2] {
          c.recv();
          recv2 = true;
          done.send({});
        });
        std::this_thread::sleep_for(2ms);
        CHECK_FALSE(recv1.load());
        CHECK_FALSE(recv2.load());
        c.close();  // close unblocks both
        done.recv();
        done.recv();
        CHECK(recv1.load());
        CHECK(recv2.load());
      }
      {  // a non-blocking receive does not block
        auto c = make_chan<int>(cap);
        CHECK_FALSE(c.try_recv());
      }
      {  // send to a full channel blocks
        auto c = make_chan<int>(cap);
        for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
        std::atomic<bool> sent{false};
        auto done = make_chan<>(1);
        go([=, &sent] {
          c.send(0);
          sent = true;
          done.send({});
        });
        std::this_thread::sleep_for(2ms);
        CHECK_FALSE(sent.load());
        c.recv();  // frees a slot (or takes the value)
        done.recv();
        CHECK(sent.load());
      }
      {  // a closed channel yields its values, then zero values
        auto c = make_chan<int>(cap);
        std::size_t k = std::min<std::size_t>(cap, 3);
        for (std::size_t i = 0; i < k; ++i) c.send(static_cast<int>(i));
        c.close();
        for (std::size_t i = 0; i < k; ++i) CHECK(c.recv() == static_cast<int>(i));
        for (int i = 0; i < 3; ++i) CHECK(c.recv() == std::nullopt);
      }
      {  // values arrive uncorrupted, in order
        auto c = make_chan<int>(cap);
        go([=] {
          for (int i = 0; i < n; ++i) c.send(i);
        });
        for (int i = 0; i < n; ++i) CHECK(c.recv() == i);
      }
      {  // several senders and receivers: the multiset is preserved
        constexpr int p = 4, l = 100;
        auto c = make_chan<int>(cap);
        for (int s = 0; s < p; ++s) {
          go([=] {
            for (int i = 0; i < l; ++i) c.send(i);
          });
        }
        auto done = make_chan<std::vector<int>>();
        for (int r = 0; r < p; ++r) {
          go([=] {
            std::vector<int> got(l);
            for (int i = 0; i < l; ++i) got[static_cast<std::size_t>(*c.recv())]++;
            done.send(got);
          });
        }
        std::vector<int> total(l);
        for (int r = 0; r < p; ++r) {
          auto got = *done.recv();
          for (int i = 0; i < l; ++i) total[static_cast<std::size_t>(i)] += got[static_cast<std::size_t>(i)];
        }
        CHECK(std::all_of(total.begin(), total.end(), [](int x) { return x == p; }));
      }
      {  // len and cap
        auto c = make_chan<int>(cap);
        CHECK(c.len() == 0);
        CHECK(c.cap() == cap);
        for (std::size_t i = 0; i < cap; ++i) c.send(static_cast<int>(i));
        CHECK(c.len() == cap);
        CHECK(c.cap() == cap);
      }
    }
  });
}

TEST_CASE("go/src/runtime/chan_test TestNonblockRecvRace: a closed channel is always ready") {
  // After close, a select with default must see the channel as ready.
  csp_test::with_procs([](int) {
    const int n = 1000 / scale;
    for (int i = 0; i < n; ++i) {
      auto c = make_chan<int>(1);
      c.send(1);
      auto done = make_chan<bool>(1);
      go([=] {
        bool ready = select(recv(c), default_case) == 0;
        done.send(ready);
      });
      c.close();
      c.recv();
      CHECK(done.recv() == true);
    }
  });
}

TEST_CASE("go/src/runtime/chan_test TestSelfSelect: send and receive cases on one channel, two goroutines") {
  csp_test::with_procs([](int) {
    for (std::size_t cap : {0u, 10u}) {
      auto c = make_chan<int>(cap);
      auto done = make_chan<>(2);
      for (int p = 0; p < 2; ++p) {
        go([=] {
          for (int i = 0; i < 1000 / scale; ++i) {
            std::optional<int> v;
            if (p == 0 || i % 2 == 0) {
              if (select(send(c, p), recv(c, v)) == 1 && cap == 0) CHECK(v != p);  // never itself
            } else {
              if (select(recv(c, v), send(c, p)) == 0 && cap == 0) CHECK(v != p);
            }
          }
          done.send({});
        });
      }
      done.recv();
      done.recv();
    }
  });
}

TEST_CASE("go/src/runtime/chan_test TestSelectDuplicateChannel: one channel in several cases of a blocked select") {
  // A blocked select with c twice; another select's waiter shares c's queue.
  // Used to corrupt c's queue when the first select was woken through d.
  csp_test::with_procs([](int) {
    auto c = make_chan<int>(), d = make_chan<int>(), e = make_chan<int>();
    auto done = make_chan<>(2);
    go([=] {
      select(recv(c), recv(c), recv(d));
      e.send(9);
      done.send({});
    });
    std::this_thread::sleep_for(1ms);
    go([=] {
      c.recv();
      done.send({});
    });
    std::this_thread::sleep_for(1ms);
    d.send(7);
    e.recv();
    c.send(8);
    done.recv();
    done.recv();
  });
}

TEST_CASE("go/src/runtime/chan_test TestSelectStress: selects over channels that drop out when done") {
  csp_test::with_procs({2, 4}, [](int) {
    const int n = 2000 / scale;
    std::array<chan<int>, 4> c{make_chan<int>(), make_chan<int>(), make_chan<int>(10), make_chan<int>(10)};
    auto done = make_chan<>(4);
    // Plain senders on c[0..1], plain receivers on c[2..3], and one select
    // goroutine that receives c[0..1] and sends c[2..3], nil-ing out each
    // case after n operations, as Go's test does.
    for (int k = 0; k < 2; ++k) {
      go([=] {
        for (int i = 0; i < n; ++i) c[static_cast<std::size_t>(k)].send(i);
        done.send({});
      });
      go([=] {
        for (int i = 0; i < n; ++i) c[static_cast<std::size_t>(k + 2)].recv();
        done.send({});
      });
    }
    go([=] {
      auto cs = c;
      std::array<int, 4> count{};
      while (cs[0] || cs[1] || cs[2] || cs[3]) {
        int i = select(recv(cs[0]), recv(cs[1]), send(cs[2], 0), send(cs[3], 0));
        if (++count[static_cast<std::size_t>(i)] == n) cs[static_cast<std::size_t>(i)] = {};
      }
      done.send({});
    });
    for (int i = 0; i < 5; ++i) done.recv();
  });
}

TEST_CASE("go/src/runtime/chan_test TestMultiConsumer: many consumers, every item exactly once") {
  csp_test::with_procs([](int) {
    const int nwork = 23, niter = 2710 / scale;
    auto q = make_chan<int>(nwork * 3);
    auto r = make_chan<int>(nwork * 3);
    auto done = make_chan<>(nwork);
    for (int w = 0; w < nwork; ++w) {
      go([=] {
        for (int v : q) {
          if (v % 7 == 0) runtime::gosched();  // mix up the order a bit
          r.send(v);
        }
        done.send({});
      });
    }
    go([=] {
      for (int w = 0; w < nwork; ++w) done.recv();
      r.close();
    });
    long expect = 0;
    go([=] {
      for (int i = 0; i < niter; ++i) q.send(i);
      q.close();
    });
    for (int i = 0; i < niter; ++i) expect += i;
    long sum = 0;
    int n = 0;
    for (int v : r) sum += v, ++n;
    CHECK(n == niter);
    CHECK(sum == expect);
  });
}

TEST_CASE("go/src/runtime/chan_test TestPseudoRandomSend: select among sends picks both") {
  csp_test::with_procs([](int) {
    constexpr int n = 100;
    auto c = make_chan<int>();
    auto out = make_chan<std::array<int, 2>>(1);
    go([=] {
      std::array<int, 2> l{};
      for (int i = 0; i < n; ++i) l[static_cast<std::size_t>(*c.recv())]++;
      out.send(l);
    });
    for (int i = 0; i < n; ++i) select(send(c, 0), send(c, 1));
    auto l = *out.recv();
    CHECK(l[0] > n / 10);
    CHECK(l[1] > n / 10);
  });
}
