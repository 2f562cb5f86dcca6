// chan_stress_test.cpp — conservation under contention: many producers and
// consumers, goroutines and plain threads mixed, plain operations and
// random selects, buffered and unbuffered channels, 1, 2 and 4 workers.
// Every value must be received exactly once and each producer's values must
// keep their order on each channel; counts and checksums prove it.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
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

namespace {

#if CSP_STRESS_LONG
constexpr int scale_up = 20;
#else
constexpr int scale_up = 1;
#endif
#if defined(CSP_ASAN) || defined(CSP_TSAN)
constexpr int scale_down = 8;  // sanitizers run 5-15x slower
#else
constexpr int scale_down = 1;
#endif

constexpr int scaled(int n) { return n * scale_up / scale_down; }

struct item {
  int producer;
  int seq;
};

// ledger records what consumers saw: each (producer, seq) exactly once.
struct ledger {
  explicit ledger(int producers, int per_producer)
      : per(per_producer), seen(static_cast<std::size_t>(producers * per_producer)) {}
  int per;
  std::vector<std::atomic<int>> seen;
  std::atomic<std::uint64_t> checksum{0};

  void record(item it) {
    seen[static_cast<std::size_t>(it.producer * per + it.seq)].fetch_add(1, std::memory_order_relaxed);
    checksum.fetch_add(static_cast<std::uint64_t>(it.producer) * 1'000'003u + static_cast<std::uint64_t>(it.seq),
                       std::memory_order_relaxed);
  }
  std::uint64_t expected_checksum(int producers) const {
    std::uint64_t s = 0;
    for (int p = 0; p < producers; ++p)
      for (int q = 0; q < per; ++q) s += static_cast<std::uint64_t>(p) * 1'000'003u + static_cast<std::uint64_t>(q);
    return s;
  }
  int wrong() const {
    int bad = 0;
    for (auto& s : seen) bad += s.load() != 1;
    return bad;
  }
};

// order_check: the sequence numbers one consumer sees from one producer on
// one channel must increase (a channel is FIFO; both sides are sequential).
struct order_check {
  order_check(int producers, int channels) : last(static_cast<std::size_t>(producers * channels), -1), nch(channels) {}
  std::vector<int> last;
  int nch;
  int violations = 0;
  void see(int ch, item it) {
    int& l = last[static_cast<std::size_t>(it.producer * nch + ch)];
    if (it.seq <= l) ++violations;
    l = it.seq;
  }
};

}  // namespace

TEST_CASE("chan stress: producers and consumers over buffered and unbuffered channels with random selects") {
  csp_test::with_procs([](int procs) {
    constexpr int producers = 6, consumers = 5, nch = 4;
    const int per = scaled(2500);
    std::vector<chan<item>> chs{make_chan<item>(0), make_chan<item>(1), make_chan<item>(16), make_chan<item>(0)};
    auto led = std::make_shared<ledger>(producers, per);
    auto producers_done = make_chan<>(producers);
    auto consumer_report = make_chan<int>(consumers);  // order violations per consumer

    // Producer p sends its values in order. Even producers use plain sends
    // on a channel of their own choosing per value; odd ones select among
    // two channels (the value is copied into whichever case is chosen).
    auto producer = [=](int p) {
      std::minstd_rand rng(static_cast<unsigned>(p * 7919 + procs));
      for (int seq = 0; seq < per; ++seq) {
        item it{p, seq};
        std::size_t a = rng() % nch, b = rng() % nch;
        if (p % 2 == 0) {
          chs[a].send(it);
        } else if (seq % 5 == 0) {  // sometimes poll with a default first
          while (select(send(chs[a], it), send(chs[b], it), default_case) == 2) runtime::gosched();
        } else {
          select(send(chs[a], it), send(chs[b], it));
        }
      }
      producers_done.send({});
    };
    // Consumer c receives until every channel is closed and drained: even
    // consumers by selecting over all channels (nil-ing out closed ones),
    // odd ones by plain receives round-robin... which would block on an
    // idle channel, so they use try_recv and fall back to a select.
    auto consumer = [=](int c) {
      order_check order(producers, nch);
      std::vector<chan<item>> live = chs;
      int open = nch;
      std::minstd_rand rng(static_cast<unsigned>(c * 104729 + procs));
      while (open > 0) {
        std::optional<item> v0, v1, v2, v3;
        int k = -1;
        if (c % 2 == 1) {
          std::size_t i = rng() % nch;
          if (live[i]) {
            if (auto v = live[i].try_recv()) {
              led->record(*v);
              order.see(static_cast<int>(i), *v);
              continue;
            }
          }
        }
        k = select(recv(live[0], v0), recv(live[1], v1), recv(live[2], v2), recv(live[3], v3));
        std::optional<item>& v = k == 0 ? v0 : k == 1 ? v1 : k == 2 ? v2 : v3;
        if (!v) {
          live[static_cast<std::size_t>(k)] = {};
          --open;
          continue;
        }
        led->record(*v);
        order.see(k, *v);
      }
      consumer_report.send(order.violations);
    };

    // Mixed: producer 0 and consumer 0 are plain threads; the rest goroutines.
    std::thread tp(producer, 0);
    for (int p = 1; p < producers; ++p) go(producer, p);
    std::thread tc(consumer, 0);
    for (int c = 1; c < consumers; ++c) go(consumer, c);
    go([=] {
      for (int p = 0; p < producers; ++p) producers_done.recv();
      for (auto& ch : chs) ch.close();
    });
    int violations = 0;
    for (int c = 0; c < consumers; ++c) violations += *consumer_report.recv();
    tp.join();
    tc.join();
    CHECK(violations == 0);
    CHECK(led->wrong() == 0);
    CHECK(led->checksum.load() == led->expected_checksum(producers));
  });
}

TEST_CASE("chan stress: many goroutines through one channel keep per-producer FIFO, every capacity") {
  csp_test::with_procs([](int) {
    for (std::size_t cap : {0u, 1u, 64u}) {
      CAPTURE(cap);
      constexpr int producers = 8, consumers = 8;
      const int per = scaled(1500);
      auto c = make_chan<item>(cap);
      auto led = std::make_shared<ledger>(producers, per);
      auto done = make_chan<>(producers);
      auto report = make_chan<int>(consumers);
      for (int p = 0; p < producers; ++p) {
        go([=] {
          for (int seq = 0; seq < per; ++seq) c.send({p, seq});
          done.send({});
        });
      }
      for (int k = 0; k < consumers; ++k) {
        go([=] {
          order_check order(producers, 1);
          for (item it : c) {
            led->record(it);
            order.see(0, it);
          }
          report.send(order.violations);
        });
      }
      for (int p = 0; p < producers; ++p) done.recv();
      c.close();
      int violations = 0;
      for (int k = 0; k < consumers; ++k) violations += *report.recv();
      CHECK(violations == 0);
      CHECK(led->wrong() == 0);
      CHECK(led->checksum.load() == led->expected_checksum(producers));
    }
  });
}

TEST_CASE("chan stress: close racing with blocked senders, receivers and selects loses nothing") {
  // Each round: senders (plain and select) and receivers race with close.
  // Every sender either delivered its value (received exactly once) or
  // panicked "send on closed channel"; nothing else.
  csp_test::with_procs([](int) {
    const int rounds = scaled(150);
    constexpr int senders = 6, receivers = 3;
    for (int r = 0; r < rounds; ++r) {
      auto c = make_chan<int>(static_cast<std::size_t>(r % 3));
      auto other = make_chan<int>();  // never ready
      auto outcome = make_chan<int>(senders);  // 1: sent, 0: panicked
      auto received = make_chan<long>(receivers);
      for (int s = 0; s < senders; ++s) {
        go([=] {
          try {
            if (s % 2) select(send(c, 1 << s), recv(other));
            else c.send(1 << s);
            outcome.send(1);
          } catch (const csp::panic& p) {
            CHECK(std::string(p.what()) == "send on closed channel");
            outcome.send(0);
          }
        });
      }
      for (int k = 0; k < receivers; ++k) {
        go([=] {
          long sum = 0;
          std::optional<int> v;
          for (;;) {
            if (k == 0) {
              if (select(recv(c, v), recv(other)) != 0 || !v) break;
            } else if (!(v = c.recv())) {
              break;
            }
            sum += *v;
          }
          received.send(sum);
        });
      }
      if (r % 2) runtime::gosched();
      c.close();
      long sent_mask = 0, got = 0;
      for (int s = 0; s < senders; ++s) sent_mask += *outcome.recv();
      for (int k = 0; k < receivers; ++k) got += *received.recv();
      // got is a sum of distinct powers of two: exactly the delivered values
      CHECK(__builtin_popcountl(static_cast<unsigned long>(got)) == sent_mask);
    }
  });
}

TEST_CASE("chan stress: ping-pong pairs, goroutines and threads, unbuffered") {
  csp_test::with_procs([](int) {
    constexpr int pairs = 4;
    const int rounds = scaled(2000);
    auto done = make_chan<long>(2 * pairs);
    std::vector<std::thread> threads;
    for (int p = 0; p < pairs; ++p) {
      auto ping = make_chan<int>(), pong = make_chan<int>();
      auto server = [=] {
        long n = 0;
        for (int v : ping) {
          pong.send(v + 1);
          ++n;
        }
        done.send(n);
      };
      auto client = [=] {
        long bad = 0;
        for (int i = 0; i < rounds; ++i) {
          ping.send(i);
          bad += pong.recv() != i + 1;
        }
        ping.close();
        done.send(bad == 0 ? 0 : -1);
      };
      if (p == 0) threads.emplace_back(client);
      else go(client);
      go(server);
    }
    long total = 0;
    for (int i = 0; i < 2 * pairs; ++i) {
      long v = *done.recv();
      CHECK(v >= 0);
      total += v;
    }
    for (auto& t : threads) t.join();
    CHECK(total == static_cast<long>(pairs) * rounds);
  });
}
