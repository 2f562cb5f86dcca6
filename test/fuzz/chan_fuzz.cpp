// chan_fuzz.cpp — libFuzzer harness: the input bytes are a channel program,
// run on one worker in a forced order and checked, op by op, against a
// sequential reference model of Go's channel semantics.
//
// The program: three channels (capacities from the first bytes, 0..3) and a
// nil one. A driver goroutine executes the ops; "helper" goroutines block in
// a send, a receive or a select (over up to three cases, nil channels and
// repeats included) so that the driver's later ops meet waiting parties. At
// gomaxprocs 1 nothing runs in parallel: after each op the driver yields
// until every helper the model says has finished has finished (and every new
// helper has parked), so the interleaving is the one the bytes describe.
//
// The model (model_chan) keeps what Go's hchan keeps: the buffer's values,
// the closed flag, and the FIFO queues of blocked receivers and senders (with
// the values those senders hold); a blocked select stands in the queue of
// every channel it waits on, and once one of them takes it, its other
// entries are skipped (Go's selectDone). Every op's result is compared: try_send's
// and try_recv's answers, blocking ops' values, which select cases may be
// chosen (any ready one; the default only when none is), the values helpers
// receive and whether they panic, len() and cap(), and at the end the
// buffer's contents. Any divergence prints the op and aborts, so libFuzzer
// saves the input.
//
// Build and run: scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <csp/go.hpp>

namespace {

[[noreturn]] void diverge(int op, const std::string& what) {
  std::fprintf(stderr, "chan_fuzz: divergence from Go's semantics at op %d: %s\n", op, what.c_str());
  std::fflush(stderr);
  std::abort();
}

// hcase: one of a helper's operations: a send (of `value`) or a receive on
// channel `chan`.
struct hcase {
  bool is_send = false;
  int chan = 0;
  int value = 0;
};

// helper: a goroutine blocked (or not) in one send, receive or select.
// `expect_*` is the model's verdict, the rest is what really happened; only
// the driver's goroutine and the helper touch it, never at once (one worker).
struct helper {
  enum class kind { send, recv, select } what = kind::send;
  std::vector<hcase> cases;  // one for send and recv
  bool started = false, done = false;
  int chosen = -1;          // the select's case
  std::optional<int> got;   // received value (empty: closed)
  bool panicked = false;
  bool fired = false;       // the model has completed it (Go: selectDone)
  std::optional<int> expect_got;
  bool expect_panic = false;
  int expect_chan = -1;     // the channel that completed it; any of its
  bool expect_send = false; //   cases in this direction may be the one chosen
};

// qentry: a helper's case waiting in a channel's queue.
struct qentry {
  helper* h;
  int case_index;
};

struct model_chan {
  bool nil = false;
  std::size_t cap = 0;
  std::deque<int> buf;
  bool closed = false;
  std::deque<qentry> recvq;  // blocked receivers, FIFO as Go's
  std::deque<qentry> sendq;  // blocked senders, FIFO; each case holds its value
};

enum class step { done, would_block, panics };

struct fuzz_program {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0, pos = 0;
  int op = 0;
  int next_value = 1;
  csp::chan<int> real[4];
  model_chan model[4];
  std::vector<std::unique_ptr<helper>> helpers;

  std::uint8_t next() { return pos < size ? data[pos++] : 0; }

  // ---- the model -----------------------------------------------------------

  // dequeue takes the first entry whose helper has not completed yet.
  static std::optional<qentry> dequeue(std::deque<qentry>& q) {
    while (!q.empty()) {
      qentry e = q.front();
      q.pop_front();
      if (!e.h->fired) return e;
    }
    return std::nullopt;
  }

  static void fire(const qentry& e, std::optional<int> got, bool panics) {
    helper* h = e.h;
    const hcase& hc = h->cases[static_cast<std::size_t>(e.case_index)];
    h->fired = true;
    h->expect_got = got;
    h->expect_panic = panics;
    h->expect_chan = hc.chan;
    h->expect_send = hc.is_send;
  }

  step model_send(int c, int v) {
    model_chan& m = model[c];
    if (m.nil) return step::would_block;
    if (m.closed) return step::panics;
    if (auto r = dequeue(m.recvq)) {
      fire(*r, v, false);
      return step::done;
    }
    if (m.buf.size() < m.cap) {
      m.buf.push_back(v);
      return step::done;
    }
    return step::would_block;
  }

  // model_recv: done with *out set (empty: closed and drained), or would_block.
  step model_recv(int c, std::optional<int>* out) {
    model_chan& m = model[c];
    if (m.nil) return step::would_block;
    if (!m.buf.empty()) {
      *out = m.buf.front();
      m.buf.pop_front();
      if (auto s = dequeue(m.sendq)) {  // the first blocked sender's value takes the freed slot
        m.buf.push_back(s->h->cases[static_cast<std::size_t>(s->case_index)].value);
        fire(*s, std::nullopt, false);
      }
      return step::done;
    }
    if (auto s = dequeue(m.sendq)) {  // unbuffered: straight from the first sender
      *out = s->h->cases[static_cast<std::size_t>(s->case_index)].value;
      fire(*s, std::nullopt, false);
      return step::done;
    }
    if (m.closed) {
      out->reset();
      return step::done;
    }
    return step::would_block;
  }

  // Queues may hold entries of completed selects; readiness skips them.
  static bool has_live(const std::deque<qentry>& q) {
    for (const qentry& e : q)
      if (!e.h->fired) return true;
    return false;
  }

  bool send_ready(int c) const {
    const model_chan& m = model[c];
    return !m.nil && (m.closed || has_live(m.recvq) || m.buf.size() < m.cap);
  }
  bool recv_ready(int c) const {
    const model_chan& m = model[c];
    return !m.nil && (!m.buf.empty() || has_live(m.sendq) || m.closed);
  }

  // ---- checking --------------------------------------------------------------

  static std::string show(const std::optional<int>& v) { return v ? std::to_string(*v) : "closed"; }

  void expect_panic(const char* what, const std::string& want, const std::function<void()>& f) {
    try {
      f();
    } catch (const csp::panic& p) {
      if (want != p.what()) diverge(op, std::string(what) + " panicked with '" + p.what() + "', want '" + want + "'");
      return;
    }
    diverge(op, std::string(what) + " did not panic, want '" + want + "'");
  }

  // settle yields until every helper has reached the state the model
  // expects, then checks what each finished helper saw.
  static std::string describe(const helper& h) {
    std::string d = h.what == helper::kind::send ? "send" : h.what == helper::kind::recv ? "recv" : "select";
    for (const hcase& c : h.cases) d += std::string(c.is_send ? " send" : " recv") + "(chan " + std::to_string(c.chan) + ")";
    return d;
  }

  void settle() {
    for (int round = 0;; ++round) {
      bool pending = false;
      for (auto& h : helpers)
        if (!h->started || (h->fired && !h->done)) pending = true;
      if (!pending) break;
      if (round > 100000) {
        for (auto& h : helpers)
          if (h->fired && !h->done)
            diverge(op, "a helper blocked in " + describe(*h) + " was not woken (lost wake-up)");
        diverge(op, "a new helper never started");
      }
      csp::runtime::gosched();
    }
    // A few more turns, so a helper woken by mistake shows it.
    for (int i = 0; i < 3; ++i) csp::runtime::gosched();
    for (auto& h : helpers) {
      if (h->done && !h->fired)
        diverge(op, "a helper's " + describe(*h) + " completed, the model says it is still blocked");
      if (!h->done) continue;
      if (h->panicked != h->expect_panic)
        diverge(op, "a helper's " + describe(*h) + (h->panicked ? " panicked" : " did not panic") +
                        ", the model says otherwise");
      if (h->what == helper::kind::select && !h->panicked) {
        // Any case on the completing channel in that direction may be the one.
        const auto k = static_cast<std::size_t>(h->chosen);
        if (h->chosen < 0 || k >= h->cases.size() || h->cases[k].chan != h->expect_chan ||
            h->cases[k].is_send != h->expect_send)
          diverge(op, "a helper's " + describe(*h) + " chose case " + std::to_string(h->chosen) + ", want a " +
                          (h->expect_send ? "send" : "recv") + " on chan " + std::to_string(h->expect_chan));
      }
      const bool received = h->what == helper::kind::recv || (h->what == helper::kind::select && !h->expect_send);
      if (received && !h->panicked && h->got != h->expect_got)
        diverge(op, "a helper's " + describe(*h) + " received " + show(h->got) + ", want " + show(h->expect_got));
    }
    for (int c = 0; c < 4; ++c) {
      if (real[c].len() != model[c].buf.size())
        diverge(op, "len(chan " + std::to_string(c) + ") = " + std::to_string(real[c].len()) + ", want " +
                        std::to_string(model[c].buf.size()));
      if (real[c].cap() != model[c].cap)
        diverge(op, "cap(chan " + std::to_string(c) + ") = " + std::to_string(real[c].cap()));
    }
  }

  // ---- ops --------------------------------------------------------------------

  bool helper_room() const {
    std::size_t live = 0;
    for (auto& h : helpers) live += !h->done;
    return live < 6;
  }

  helper* new_helper(helper::kind what) {
    helpers.push_back(std::make_unique<helper>());
    helper* h = helpers.back().get();
    h->what = what;
    return h;
  }

  void spawn_helper(bool is_send, int c) {
    if (model[c].nil || !helper_room()) return;  // a nil helper could never be released
    helper* hp = new_helper(is_send ? helper::kind::send : helper::kind::recv);
    hp->cases.push_back({is_send, c, next_value++});
    if (is_send) {
      step s = model_send(c, hp->cases[0].value);
      if (s == step::would_block) model[c].sendq.push_back({hp, 0});
      else fire({hp, 0}, std::nullopt, s == step::panics);
      csp::go([hp, ch = real[c]] {
        hp->started = true;
        try {
          ch.send(hp->cases[0].value);
        } catch (const csp::panic&) {
          hp->panicked = true;
        }
        hp->done = true;
      });
    } else {
      std::optional<int> v;
      if (model_recv(c, &v) == step::would_block) model[c].recvq.push_back({hp, 0});
      else fire({hp, 0}, v, false);
      csp::go([hp, ch = real[c]] {
        hp->started = true;
        hp->got = ch.recv();
        hp->done = true;
      });
    }
  }

  // spawn_select_helper starts a goroutine blocked in a select over 1..3
  // cases; only when none is ready (else the choice would be random). Cases
  // on one channel share a direction and a value, so whichever of them the
  // runtime picks, the outcome is the same.
  void spawn_select_helper() {
    const std::size_t n = 1 + next() % 3;
    if (!helper_room()) return;
    std::vector<hcase> cases;
    bool any_real = false;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint8_t b = next();
      hcase hc{static_cast<bool>(b & 1), (b >> 1) % 4, 0};
      for (const hcase& o : cases)
        if (o.chan == hc.chan) hc = o;  // same channel: same direction and value
      if (hc.value == 0) hc.value = next_value++;
      if (hc.is_send ? send_ready(hc.chan) : recv_ready(hc.chan)) return;
      any_real |= !model[hc.chan].nil;
      cases.push_back(hc);
    }
    if (!any_real) return;  // only nil channels: it could never be released
    helper* hp = new_helper(helper::kind::select);
    hp->cases = cases;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      model_chan& m = model[cases[i].chan];
      if (m.nil) continue;
      (cases[i].is_send ? m.sendq : m.recvq).push_back({hp, static_cast<int>(i)});
    }
    csp::go([hp, chans = std::vector<csp::chan<int>>(std::begin(real), std::end(real))] {
      hp->started = true;
      std::vector<std::optional<int>> got(hp->cases.size());
      std::vector<csp::select_case> sc;
      for (std::size_t i = 0; i < hp->cases.size(); ++i) {
        const hcase& hc = hp->cases[i];
        if (hc.is_send) sc.push_back(csp::send(chans[static_cast<std::size_t>(hc.chan)], hc.value));
        else sc.push_back(csp::recv(chans[static_cast<std::size_t>(hc.chan)], got[i]));
      }
      try {
        hp->chosen = csp::select(sc);
        if (hp->chosen >= 0 && static_cast<std::size_t>(hp->chosen) < got.size())
          hp->got = got[static_cast<std::size_t>(hp->chosen)];
      } catch (const csp::panic&) {
        hp->panicked = true;
      }
      hp->done = true;
    });
  }

  void do_try_send(int c) {
    int v = next_value++;
    step s = model_send(c, v);
    if (s == step::panics) {
      expect_panic("try_send on a closed channel", "send on closed channel", [&] { (void)real[c].try_send(v); });
      return;
    }
    bool ok = real[c].try_send(v);
    if (ok != (s == step::done))
      diverge(op, "try_send on chan " + std::to_string(c) + " returned " + (ok ? "true" : "false"));
  }

  void do_try_recv(int c) {
    std::optional<int> want;
    step s = model_recv(c, &want);
    std::optional<int> got = real[c].try_recv();
    if (s == step::would_block) want.reset();  // not ready reads as empty too
    if (got != want) diverge(op, "try_recv on chan " + std::to_string(c) + " = " + show(got) + ", want " + show(want));
  }

  void do_blocking_send(int c) {
    if (!send_ready(c)) return;  // it would block the driver forever
    int v = next_value++;
    step s = model_send(c, v);
    if (s == step::panics) {
      expect_panic("send on a closed channel", "send on closed channel", [&] { real[c].send(v); });
      return;
    }
    real[c] << v;
  }

  void do_blocking_recv(int c) {
    if (!recv_ready(c)) return;
    std::optional<int> want;
    model_recv(c, &want);
    std::optional<int> got = real[c].recv();
    if (got != want) diverge(op, "recv on chan " + std::to_string(c) + " = " + show(got) + ", want " + show(want));
  }

  void do_close(int c) {
    model_chan& m = model[c];
    if (m.nil) {
      expect_panic("close of a nil channel", "close of nil channel", [&] { real[c].close(); });
      return;
    }
    if (m.closed) {
      expect_panic("close of a closed channel", "close of closed channel", [&] { real[c].close(); });
      return;
    }
    m.closed = true;
    // Receivers first, then senders, as Go's closechan; a select waits on
    // one channel in one direction only (spawn_select_helper), so the order
    // never decides which case a select takes.
    while (auto r = dequeue(m.recvq)) fire(*r, std::nullopt, false);
    while (auto s = dequeue(m.sendq)) fire(*s, std::nullopt, true);
    real[c].close();
  }

  // do_select runs a select over 1..3 cases (send or receive, any channel,
  // nil and repeats included), with a default or, if some case is ready,
  // without one.
  void do_select(bool with_default) {
    struct scase {
      bool is_send;
      int c;
      int v;
      std::optional<int> got;
    };
    std::vector<scase> cs(1 + next() % 3);
    bool any_ready = false, closed_send_ready = false;
    for (auto& sc : cs) {
      std::uint8_t b = next();
      sc.is_send = b & 1;
      sc.c = (b >> 1) % 4;
      sc.v = next_value++;
      bool ready = sc.is_send ? send_ready(sc.c) : recv_ready(sc.c);
      any_ready |= ready;
      closed_send_ready |= sc.is_send && ready && model[sc.c].closed;
    }
    if (!with_default && !any_ready) return;  // would block the driver forever
    std::vector<csp::select_case> cases;
    for (auto& sc : cs) {
      if (sc.is_send) cases.push_back(csp::send(real[sc.c], sc.v));
      else cases.push_back(csp::recv(real[sc.c], sc.got));
    }
    if (with_default) cases.push_back(csp::default_case);
    int k;
    try {
      k = csp::select(cases);
    } catch (const csp::panic& p) {
      if (!closed_send_ready) diverge(op, std::string("select panicked (") + p.what() + ") with no send to a closed channel ready");
      if (std::string(p.what()) != "send on closed channel") diverge(op, std::string("select panicked: ") + p.what());
      return;
    }
    if (k == static_cast<int>(cs.size())) {
      if (!with_default) diverge(op, "select without default returned the default's index");
      if (any_ready) diverge(op, "select took the default although a case was ready");
      return;
    }
    if (k < 0 || k > static_cast<int>(cs.size())) diverge(op, "select returned index " + std::to_string(k));
    scase& sc = cs[static_cast<std::size_t>(k)];
    if (sc.is_send) {
      if (!send_ready(sc.c)) diverge(op, "select chose a send on chan " + std::to_string(sc.c) + " that was not ready");
      if (model_send(sc.c, sc.v) == step::panics) diverge(op, "select chose a send on a closed channel without panicking");
    } else {
      if (!recv_ready(sc.c)) diverge(op, "select chose a recv on chan " + std::to_string(sc.c) + " that was not ready");
      std::optional<int> want;
      model_recv(sc.c, &want);
      if (sc.got != want)
        diverge(op, "select's recv on chan " + std::to_string(sc.c) + " = " + show(sc.got) + ", want " + show(want));
    }
  }

  void run() {
    for (int c = 0; c < 3; ++c) {
      model[c].cap = next() % 4;
      real[c] = csp::make_chan<int>(model[c].cap);
    }
    model[3].nil = true;  // real[3] stays nil
    while (pos < size && op < 4000) {
      std::uint8_t b = next();
      int c = (b >> 4) % 4;
      switch (b % 11) {
        case 0: do_try_send(c); break;
        case 1: do_try_recv(c); break;
        case 2: do_blocking_send(c); break;
        case 3: do_blocking_recv(c); break;
        case 4: do_close(c); break;
        case 5: spawn_helper(true, c); break;
        case 6: spawn_helper(false, c); break;
        case 7: do_select(true); break;
        case 8: do_select(false); break;
        case 9: spawn_select_helper(); break;
        default: csp::runtime::gosched(); break;
      }
      settle();
      ++op;
    }
    // Release every helper: close what is open; then the buffers must hold
    // exactly what the model says, in order.
    for (int c = 0; c < 3; ++c)
      if (!model[c].closed) do_close(c);
    settle();
    for (auto& h : helpers)
      if (!h->done) diverge(op, "a helper is still blocked after every channel was closed");
    for (int c = 0; c < 3; ++c) {
      for (int want : model[c].buf) {
        std::optional<int> got = real[c].recv();
        if (got != want) diverge(op, "draining chan " + std::to_string(c) + ": got " + show(got) + ", want " + std::to_string(want));
      }
      if (auto extra = real[c].recv()) diverge(op, "chan " + std::to_string(c) + " holds an extra value " + std::to_string(*extra));
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  csp::runtime::gomaxprocs(1);  // one worker: the ops' order is the schedule
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_program p;
  p.data = data;
  p.size = size;
  csp::sync::wait_group wg;
  wg.add(1);
  csp::go([&] {
    csp::defer d{[&] { wg.done(); }};
    try {
      p.run();
    } catch (const std::exception& e) {
      diverge(p.op, std::string("unexpected exception: ") + e.what());
    }
  });
  wg.wait();
  return 0;
}
