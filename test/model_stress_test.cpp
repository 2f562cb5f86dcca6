// model_stress_test.cpp — model-based stress: random programs of goroutines
// and plain threads over channels, select, close, wait_group and mutex, with
// every value accounted for.
//
// Each program is drawn from one seed: gomaxprocs, channels (capacity 0..3),
// and actors (each a goroutine or, one time in four, an OS thread):
//   - producers send tagged values (sender << 32 | attempt) with blocking
//     send, try_send, select with default, select with a time::after
//     timeout, blocking select over several channels (with a nil channel and
//     the same channel twice), the callback form, and mutex sections;
//   - a drainer per "drained" channel receives until it is closed and
//     drained (range-for, recv, >>, single-case select), so a blocking send
//     there always completes; "lossy" channels take only non-blocking or
//     timed sends, and what is left in them at the end is drained by main;
//   - roaming consumers receive from random channel sets by every means
//     until they have seen all of them closed;
//   - an early closer closes some channels while producers still send to
//     them (those sends may panic, and only those), then checks that Go's
//     panics happen exactly: close of a closed channel, send and try_send on
//     a closed channel, close of a nil channel;
//   - a finisher waits (wait_group) for the producers and closes the rest.
//
// Invariants checked after the program ends:
//   - conservation: a value is received at most once, only from the channel
//     it was sent on, only if its send succeeded; every successful send is
//     received exactly once (by a consumer or by main's final drain);
//   - per-sender FIFO per channel: each receiver sees each sender's values
//     on one channel in increasing order;
//   - panics: a send panics only if a channel it targets was being closed,
//     and always if its channel's close had completed before it started;
//   - no lost wake-up: the program ends (a watchdog dumps the goroutines,
//     prints the seed and aborts after a generous limit), and every
//     goroutine it started has finished.
//
// Replay: a failure prints "model: program seed S"; run
//   CSP_SEED=S CSP_MODEL_PROGRAMS=1 meson test -C build/plain model
// (or the model_test binary directly) to run exactly that program.
// CSP_SEED alone fixes the first program's seed of a run; CSP_MODEL_PROGRAMS
// sets how many programs run (default: as many as fit the time budget).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <csp/go.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using csp::chan;

namespace {

using value = std::uint64_t;
constexpr value make_value(std::uint32_t sender, std::uint32_t attempt) {
  return (value{sender} << 32) | attempt;
}
constexpr std::uint32_t sender_of(value v) { return static_cast<std::uint32_t>(v >> 32); }
constexpr std::uint32_t attempt_of(value v) { return static_cast<std::uint32_t>(v); }

enum class outcome : std::uint8_t { sent, not_sent, panicked };

struct attempt_record {
  value v;
  int channel;  // where it went when sent (-1 otherwise)
  outcome how;
};

struct recv_record {
  int channel;
  value v;
};

struct channel_model {
  chan<value> ch;
  bool drained = false;       // has a drainer: blocking sends always complete
  bool early_close = false;   // closed by the early closer, not the finisher
  std::atomic<bool> closing{false};     // set just before close()
  std::atomic<bool> close_done{false};  // set just after close() returned
};

// program: one random program's shared state. Actors write only their own
// record vectors; main reads them after every actor has finished (the
// wait_group / join give the happens-before).
struct program {
  std::uint64_t seed;
  std::mt19937_64 rng;
  std::vector<std::unique_ptr<channel_model>> chans;
  chan<value> nil_chan;  // never made: a nil channel for select cases

  std::vector<std::vector<attempt_record>> attempts;  // per producer
  std::vector<std::vector<recv_record>> receipts;     // per consumer (drainers + roamers + main)

  csp::sync::mutex mu;
  long mutex_counter = 0;  // guarded by mu
  std::atomic<long> mutex_sections{0};

  std::mutex errors_mu;
  std::vector<std::string> errors;

  explicit program(std::uint64_t s) : seed(s), rng(s) {}

  void fail(const std::string& what) {
    std::lock_guard<std::mutex> lock(errors_mu);
    if (errors.size() < 20) errors.push_back(what);
  }
};

// actor_rng gives each actor its own stream, drawn from the program's, so a
// program is the same whatever the interleaving (only the schedule varies).
std::mt19937_64 actor_rng(program& p) { return std::mt19937_64(p.rng()); }

int pick(std::mt19937_64& r, int n) { return static_cast<int>(r() % static_cast<std::uint64_t>(n)); }

// run_actor starts f as a goroutine or, one time in four, as an OS thread.
void run_actor(program& p, std::vector<std::thread>& threads, csp::sync::wait_group& wg,
               std::function<void()> f) {
  wg.add(1);
  bool as_thread = p.rng() % 4 == 0;
  auto body = [f = std::move(f), &wg, &p] {
    csp::defer d{[&] { wg.done(); }};
    try {
      f();
    } catch (const std::exception& e) {  // a panic where Go would not: keep the seed in the report
      p.fail(std::string("an actor threw: ") + e.what());
    }
  };
  if (as_thread) threads.emplace_back(std::move(body));
  else csp::go(std::move(body));
}

std::chrono::microseconds random_timeout(std::mt19937_64& r) {
  static constexpr int choices[] = {0, 20, 200, 1000};
  return std::chrono::microseconds(choices[pick(r, 4)]);
}

// ---- producers ---------------------------------------------------------------

struct producer {
  program& p;
  std::uint32_t id;
  std::mt19937_64 r;
  std::vector<attempt_record>& log;
  std::uint32_t next_attempt = 0;

  value fresh() { return make_value(id, next_attempt++); }

  bool any_closing(const std::vector<int>& cs) const {
    for (int c : cs)
      if (p.chans[c]->closing.load()) return true;
    return false;
  }

  // attempt runs one send operation over targets; `op` sends the values
  // (one per target) and returns the index of the one sent, -1 if none.
  // A timed select may take its timeout even then (the timer may be ready
  // too), so it passes may_escape.
  template <class Op>
  void attempt(const std::vector<int>& targets, Op op, bool may_escape = false) {
    std::vector<value> vals;
    for (std::size_t i = 0; i < targets.size(); ++i) vals.push_back(fresh());
    // A send whose only channel was closed before it started must panic.
    bool must_panic = !may_escape && targets.size() == 1 && p.chans[targets[0]]->close_done.load();
    std::vector<value> copies = vals;
    try {
      int sent = op(copies);
      if (must_panic)
        p.fail("send on a channel closed before the send started did not panic (chan " +
               std::to_string(targets[0]) + ")");
      for (std::size_t i = 0; i < vals.size(); ++i)
        log.push_back({vals[i], static_cast<int>(i) == sent ? targets[i] : -1,
                       static_cast<int>(i) == sent ? outcome::sent : outcome::not_sent});
    } catch (const csp::panic& e) {
      if (std::string(e.what()) != "send on closed channel")
        p.fail(std::string("unexpected panic message: ") + e.what());
      if (!any_closing(targets)) p.fail("send panicked although no target channel was closed");
      for (value v : vals) log.push_back({v, -1, outcome::panicked});
    }
  }

  // random_targets picks 1..3 channels (repeats allowed: the same channel twice).
  std::vector<int> random_targets(bool need_drained) {
    std::vector<int> t;
    int n = 1 + pick(r, 3);
    for (int i = 0; i < n; ++i) t.push_back(pick(r, static_cast<int>(p.chans.size())));
    if (need_drained) {
      std::vector<int> drained;
      for (std::size_t c = 0; c < p.chans.size(); ++c)
        if (p.chans[c]->drained) drained.push_back(static_cast<int>(c));
      t.push_back(drained[static_cast<std::size_t>(pick(r, static_cast<int>(drained.size())))]);
    }
    return t;
  }

  void run(int ops) {
    for (int i = 0; i < ops; ++i) step();
  }

  void step() {
    const int nchans = static_cast<int>(p.chans.size());
    switch (pick(r, 9)) {
      case 0: {  // blocking send (drained channels only: it must complete)
        int c = pick(r, nchans);
        if (!p.chans[c]->drained) return;
        attempt({c}, [&](std::vector<value>& v) {
          if (r() % 2) p.chans[c]->ch.send(v[0]);
          else p.chans[c]->ch << v[0];
          return 0;
        });
        return;
      }
      case 1: {  // try_send
        int c = pick(r, nchans);
        attempt({c}, [&](std::vector<value>& v) { return p.chans[c]->ch.try_send(v[0]) ? 0 : -1; });
        return;
      }
      case 2:
      case 3: {  // select send with default, or with a timeout; sometimes a nil case
        auto t = random_targets(false);
        bool with_timeout = pick(r, 2) == 1;
        auto d = random_timeout(r);
        bool with_nil = pick(r, 3) == 0;
        attempt(t, [&](std::vector<value>& v) {
          std::vector<csp::select_case> cases;
          for (std::size_t i = 0; i < t.size(); ++i) cases.push_back(csp::send(p.chans[t[i]]->ch, v[i]));
          value nil_value = 0;
          if (with_nil) cases.push_back(csp::send(p.nil_chan, nil_value));
          if (with_timeout) cases.push_back(csp::recv(csp::time::after(d)));
          else cases.push_back(csp::default_case);
          int k = csp::select(cases);
          if (with_nil && k == static_cast<int>(t.size())) p.fail("select chose a nil channel's send");
          return k < static_cast<int>(t.size()) ? k : -1;  // else nil (never), default or timeout
        }, with_timeout);
        return;
      }
      case 4:
      case 5: {  // blocking select over a set including a drained channel, plus a nil case
        auto t = random_targets(true);
        attempt(t, [&](std::vector<value>& v) {
          std::vector<csp::select_case> cases;
          for (std::size_t i = 0; i < t.size(); ++i) cases.push_back(csp::send(p.chans[t[i]]->ch, v[i]));
          value nil_value = 0;
          cases.push_back(csp::send(p.nil_chan, nil_value));
          int k = csp::select(cases);
          if (k == static_cast<int>(t.size())) {
            p.fail("blocking select chose a nil channel's send");
            return -1;
          }
          return k;
        });
        return;
      }
      case 6: {  // callback form with two cases and a default
        int a = pick(r, nchans), b = pick(r, nchans);
        attempt({a, b}, [&](std::vector<value>& v) {
          int chosen = -1;
          csp::select(csp::on_send(p.chans[a]->ch, v[0], [&] { chosen = 0; }),
                      csp::on_send(p.chans[b]->ch, v[1], [&] { chosen = 1; }),
                      csp::on_default([&] { chosen = -1; }));
          return chosen;
        });
        return;
      }
      case 7: {  // mutex section
        std::lock_guard<csp::sync::mutex> lock(p.mu);
        ++p.mutex_counter;
        p.mutex_sections.fetch_add(1, std::memory_order_relaxed);
        if (r() % 8 == 0) csp::runtime::gosched();
        return;
      }
      default:
        csp::runtime::gosched();
        return;
    }
  }
};

// ---- consumers ---------------------------------------------------------------

// drain receives from one channel until it is closed and drained.
void drain(program& p, int c, std::mt19937_64 r, std::vector<recv_record>& log) {
  auto ch = p.chans[c]->ch;
  switch (pick(r, 4)) {
    case 0:
      for (value v : ch) log.push_back({c, v});
      return;
    case 1:
      while (auto v = ch.recv()) log.push_back({c, *v});
      return;
    case 2: {
      value v;
      while (ch >> v) log.push_back({c, v});
      return;
    }
    default:
      for (;;) {
        std::optional<value> v;
        csp::select(csp::recv(ch, v));
        if (!v) return;
        log.push_back({c, *v});
      }
  }
}

// roam receives from random channel sets by every means until it has seen
// each of its channels closed.
void roam(program& p, std::mt19937_64 r, std::vector<recv_record>& log) {
  const int nchans = static_cast<int>(p.chans.size());
  std::vector<bool> closed(static_cast<std::size_t>(nchans), false);
  auto open_channels = [&] {
    std::vector<int> open;
    for (int c = 0; c < nchans; ++c)
      if (!closed[static_cast<std::size_t>(c)]) open.push_back(c);
    return open;
  };
  for (;;) {
    auto open = open_channels();
    if (open.empty()) return;
    int c = open[static_cast<std::size_t>(pick(r, static_cast<int>(open.size())))];
    auto ch = p.chans[c]->ch;
    switch (pick(r, 5)) {
      case 0:  // blocking receive
        if (auto v = ch.recv()) log.push_back({c, *v});
        else closed[static_cast<std::size_t>(c)] = true;
        break;
      case 1:  // try_recv
        if (auto v = ch.try_recv()) log.push_back({c, *v});
        else csp::runtime::gosched();
        break;
      case 2:
      case 3: {  // select over up to three open channels (maybe twice the same), nil,
                 // and a default, a timeout, or neither (blocking)
        std::vector<int> set{c};
        int more = pick(r, 3);
        for (int i = 0; i < more; ++i)
          set.push_back(open[static_cast<std::size_t>(pick(r, static_cast<int>(open.size())))]);
        std::vector<std::optional<value>> got(set.size());
        std::optional<value> nil_got;
        std::vector<csp::select_case> cases;
        for (std::size_t i = 0; i < set.size(); ++i) cases.push_back(csp::recv(p.chans[set[i]]->ch, got[i]));
        cases.push_back(csp::recv(p.nil_chan, nil_got));
        int tail = pick(r, 3);
        if (tail == 0) cases.push_back(csp::default_case);
        else if (tail == 1) cases.push_back(csp::recv(csp::time::after(random_timeout(r))));
        int k = csp::select(cases);
        if (k == static_cast<int>(set.size())) {
          p.fail("select chose a nil channel's receive");
        } else if (k < static_cast<int>(set.size())) {
          auto& v = got[static_cast<std::size_t>(k)];
          if (v) log.push_back({set[static_cast<std::size_t>(k)], *v});
          else closed[static_cast<std::size_t>(set[static_cast<std::size_t>(k)])] = true;
        } else {
          csp::runtime::gosched();
        }
        break;
      }
      default: {  // callback form
        csp::select(csp::on_recv(ch, [&](std::optional<value> v) {
                      if (v) log.push_back({c, *v});
                      else closed[static_cast<std::size_t>(c)] = true;
                    }),
                    csp::on_default([] { csp::runtime::gosched(); }));
        break;
      }
    }
  }
}

// ---- closers -----------------------------------------------------------------

void close_channel(channel_model& m) {
  m.closing.store(true);
  m.ch.close();
  m.close_done.store(true);
}

// early_close closes its channels while producers may still be sending,
// then checks the panics Go makes certain.
void early_close(program& p, std::vector<int> which, std::mt19937_64 r) {
  for (int c : which) {
    int spins = pick(r, 50);
    for (int i = 0; i < spins; ++i) csp::runtime::gosched();
    if (r() % 3 == 0) csp::time::sleep(random_timeout(r));
    auto& m = *p.chans[c];
    close_channel(m);
    auto expect = [&](const char* what, const char* message, auto op) {
      std::string got = csp_test::panic_message(op);
      if (got != message) p.fail(std::string(what) + ": got '" + got + "', want '" + message + "'");
    };
    expect("close of a closed channel", "close of closed channel", [&] { m.ch.close(); });
    expect("send on a closed channel", "send on closed channel", [&] { m.ch.send(value{0}); });
    expect("try_send on a closed channel", "send on closed channel", [&] { (void)m.ch.try_send(value{0}); });
  }
  if (std::string got = csp_test::panic_message([&] { p.nil_chan.close(); }); got != "close of nil channel")
    p.fail("close of a nil channel: got '" + got + "'");
}

// ---- one program ---------------------------------------------------------------

struct program_shape {
  int procs, nchans, nproducers, nroamers, ops;
};

program_shape draw_shape(std::mt19937_64& r) {
  return {1 + pick(r, 4), 1 + pick(r, 4), 1 + pick(r, 4), pick(r, 3), 10 + pick(r, 60)};
}

void check_program(program& p, const std::vector<recv_record>& leftover) {
  // Where each attempt ended.
  std::map<value, attempt_record> attempts;
  for (auto& log : p.attempts)
    for (auto& a : log) attempts[a.v] = a;
  std::map<value, int> received;
  auto account = [&](const std::vector<recv_record>& log, const char* who) {
    std::map<std::pair<int, std::uint32_t>, std::int64_t> last;  // (channel, sender) -> attempt
    for (auto& rr : log) {
      auto it = attempts.find(rr.v);
      if (it == attempts.end()) {
        p.fail(std::string(who) + " received a value never sent: " + std::to_string(rr.v));
        continue;
      }
      if (it->second.how != outcome::sent)
        p.fail(std::string(who) + " received a value whose send " +
               (it->second.how == outcome::panicked ? "panicked" : "did not happen") +
               " (sender " + std::to_string(sender_of(rr.v)) + ", attempt " +
               std::to_string(attempt_of(rr.v)) + ")");
      else if (it->second.channel != rr.channel)
        p.fail(std::string(who) + " received a value from chan " + std::to_string(rr.channel) +
               " sent on chan " + std::to_string(it->second.channel));
      if (++received[rr.v] == 2) p.fail("value received twice: " + std::to_string(rr.v));
      auto key = std::make_pair(rr.channel, sender_of(rr.v));
      auto prev = last.find(key);
      if (prev != last.end() && prev->second >= attempt_of(rr.v))
        p.fail(std::string(who) + ": sender " + std::to_string(sender_of(rr.v)) + "'s values on chan " +
               std::to_string(rr.channel) + " out of order: " + std::to_string(prev->second) +
               " then " + std::to_string(attempt_of(rr.v)));
      last[key] = attempt_of(rr.v);
    }
  };
  for (auto& log : p.receipts) account(log, "a consumer");
  account(leftover, "main's final drain");
  for (auto& [v, a] : attempts)
    if (a.how == outcome::sent && received.count(v) == 0)
      p.fail("value lost: sender " + std::to_string(sender_of(v)) + ", attempt " +
             std::to_string(attempt_of(v)) + " on chan " + std::to_string(a.channel));
  if (p.mutex_counter != p.mutex_sections.load())
    p.fail("mutex sections lost: counter " + std::to_string(p.mutex_counter) + ", sections " +
           std::to_string(p.mutex_sections.load()));
}

struct program_stats {
  long sends = 0, receives = 0, panics = 0;
};

program_stats run_program(std::uint64_t seed) {
  program p(seed);
  auto shape = draw_shape(p.rng);
  csp::runtime::gomaxprocs(shape.procs);
  int baseline = csp::runtime::num_goroutine();

  for (int c = 0; c < shape.nchans; ++c) {
    auto m = std::make_unique<channel_model>();
    m->ch = csp::make_chan<value>(static_cast<std::size_t>(pick(p.rng, 4)));
    m->drained = c == 0 || p.rng() % 3 != 0;  // at least one drained channel
    m->early_close = p.rng() % 4 == 0;
    p.chans.push_back(std::move(m));
  }
  // Consumers' logs: one per drainer, one per roamer.
  int ndrainers = 0;
  for (auto& m : p.chans) ndrainers += m->drained;
  p.receipts.resize(static_cast<std::size_t>(ndrainers + shape.nroamers));
  p.attempts.resize(static_cast<std::size_t>(shape.nproducers));

  std::vector<std::thread> threads;
  csp::sync::wait_group producers, everyone;
  std::atomic<bool> finished{false};

  std::size_t log_index = 0;
  for (int c = 0; c < shape.nchans; ++c) {
    if (!p.chans[static_cast<std::size_t>(c)]->drained) continue;
    auto& log = p.receipts[log_index++];
    run_actor(p, threads, everyone, [&p, c, r = actor_rng(p), &log] { drain(p, c, r, log); });
  }
  for (int i = 0; i < shape.nroamers; ++i) {
    auto& log = p.receipts[log_index++];
    run_actor(p, threads, everyone, [&p, r = actor_rng(p), &log] { roam(p, r, log); });
  }
  std::vector<int> early;
  for (int c = 0; c < shape.nchans; ++c)
    if (p.chans[static_cast<std::size_t>(c)]->early_close) early.push_back(c);
  run_actor(p, threads, everyone, [&p, early, r = actor_rng(p)] { early_close(p, early, r); });
  for (int i = 0; i < shape.nproducers; ++i) {
    producers.add(1);
    auto& log = p.attempts[static_cast<std::size_t>(i)];
    run_actor(p, threads, everyone,
              [&p, &producers, &log, id = static_cast<std::uint32_t>(i + 1), r = actor_rng(p), ops = shape.ops] {
                csp::defer d{[&] { producers.done(); }};
                producer{p, id, r, log}.run(ops);
              });
  }
  // The finisher: once every producer is done, close the channels the early
  // closer does not; then, once everyone is done, say so.
  csp::go([&] {
    producers.wait();
    try {
      for (auto& m : p.chans)
        if (!m->early_close) close_channel(*m);
    } catch (const std::exception& e) {
      p.fail(std::string("the finisher's close threw: ") + e.what());
    }
    everyone.wait();
    finished.store(true);
  });

  // The watchdog: a program takes milliseconds; one that has not ended in
  // the limit lost a wake-up (or deadlocked), and unwinding is no option
  // while goroutines use this frame.
  if (!csp_test::wait_for([&] { return finished.load(); }, std::chrono::seconds(120))) {
    std::cerr << "model: program seed " << seed << " did not finish: lost wake-up or deadlock\n"
              << "replay: CSP_SEED=" << seed << " CSP_MODEL_PROGRAMS=1\n";
    csp::runtime::dump_goroutines(std::cerr);
    std::abort();
  }
  for (auto& t : threads) t.join();
  csp_test::must(csp_test::wait_goroutines_back(baseline), "model program goroutines to finish");

  // Main drains what the lossy channels still hold (all are closed now).
  std::vector<recv_record> leftover;
  for (std::size_t c = 0; c < p.chans.size(); ++c)
    while (auto v = p.chans[c]->ch.recv()) leftover.push_back({static_cast<int>(c), *v});

  check_program(p, leftover);
  program_stats st;
  for (auto& log : p.attempts)
    for (auto& a : log) {
      st.sends += a.how == outcome::sent;
      st.panics += a.how == outcome::panicked;
    }
  for (auto& log : p.receipts) st.receives += static_cast<long>(log.size());
  {
    std::lock_guard<std::mutex> lock(p.errors_mu);
    for (auto& e : p.errors) {
      INFO("model: program seed ", seed, " (replay: CSP_SEED=", seed, " CSP_MODEL_PROGRAMS=1)");
      FAIL_CHECK(e);
    }
  }
  return st;
}

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* s = std::getenv(name);
  if (s == nullptr || *s == '\0') return fallback;
  return std::strtoull(s, nullptr, 10);
}

}  // namespace

TEST_CASE("model: random programs keep every value, order, panic and wake-up") {
  const std::uint64_t first_seed = env_u64("CSP_SEED", std::random_device{}() ^ (std::uint64_t{std::random_device{}()} << 32));
  // Budgets: a short run in every CI build; stress_long runs ten minutes.
  const auto budget = CSP_STRESS_LONG ? std::chrono::seconds(600)
                                      : std::chrono::seconds(csp_test::sanitizer_scale > 1 ? 40 : 25);
  const std::uint64_t max_programs = env_u64("CSP_MODEL_PROGRAMS", ~std::uint64_t{0});
  CAPTURE(first_seed);
  // Printed first, so that even a crash leaves the seed in the test log.
  std::cout << "model: first seed " << first_seed << " (program i uses seed + i)" << std::endl;
  int before = csp::runtime::gomaxprocs(0);
  auto start = std::chrono::steady_clock::now();
  std::uint64_t n = 0;
  program_stats total;
  while (n < max_programs && std::chrono::steady_clock::now() - start < budget) {
    std::uint64_t seed = first_seed + n;
    auto st = run_program(seed);
    total.sends += st.sends;
    total.receives += st.receives;
    total.panics += st.panics;
    ++n;
  }
  csp::runtime::gomaxprocs(before);
  std::cout << "model: " << n << " programs from seed " << first_seed << ": " << total.sends
            << " sends, " << total.receives << " consumer receives, " << total.panics
            << " sends that panicked on close\n";
  CHECK(n > 0);
}
