// chan_fuzz.cpp — libFuzzer harness: the input bytes are a channel program,
// run on one worker in a forced order and checked, op by op, against a
// sequential reference model of Go's channel semantics.
//
// The program: three channels (capacities from the first bytes, 0..3) and a
// nil one. A driver goroutine executes the ops; "helper" goroutines block in
// a send or receive so that the driver's later ops meet waiting parties. At
// gomaxprocs 1 nothing runs in parallel: after each op the driver yields
// until every helper the model says has finished has finished (and every new
// helper has parked), so the interleaving is the one the bytes describe.
//
// The model (model_chan) keeps what Go's hchan keeps: the buffer's values,
// the closed flag, and the FIFO queues of blocked receivers and senders (with
// the values those senders hold). Every op's result is compared: try_send's
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

// helper: a goroutine blocked (or not) in one send or receive. `expect_*`
// is the model's verdict, the rest is what really happened; only the
// driver's goroutine and the helper touch it, never at once (one worker).
struct helper {
  bool is_send = false;
  int chan = 0;
  int value = 0;  // sent value
  bool started = false, done = false;
  std::optional<int> got;  // received value (empty: closed)
  bool panicked = false;
  bool expect_done = false;
  std::optional<int> expect_got;
  bool expect_panic = false;
};

struct model_chan {
  bool nil = false;
  std::size_t cap = 0;
  std::deque<int> buf;
  bool closed = false;
  std::deque<helper*> recvq;  // blocked receivers, FIFO as Go's
  std::deque<helper*> sendq;  // blocked senders, FIFO; each holds its value
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

  step model_send(int c, int v) {
    model_chan& m = model[c];
    if (m.nil) return step::would_block;
    if (m.closed) return step::panics;
    if (!m.recvq.empty()) {
      helper* r = m.recvq.front();
      m.recvq.pop_front();
      r->expect_done = true;
      r->expect_got = v;
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
      if (!m.sendq.empty()) {  // the first blocked sender's value takes the freed slot
        helper* s = m.sendq.front();
        m.sendq.pop_front();
        m.buf.push_back(s->value);
        s->expect_done = true;
      }
      return step::done;
    }
    if (!m.sendq.empty()) {  // unbuffered: straight from the first sender
      helper* s = m.sendq.front();
      m.sendq.pop_front();
      s->expect_done = true;
      *out = s->value;
      return step::done;
    }
    if (m.closed) {
      out->reset();
      return step::done;
    }
    return step::would_block;
  }

  bool send_ready(int c) const {
    const model_chan& m = model[c];
    return !m.nil && (m.closed || !m.recvq.empty() || m.buf.size() < m.cap);
  }
  bool recv_ready(int c) const {
    const model_chan& m = model[c];
    return !m.nil && (!m.buf.empty() || !m.sendq.empty() || m.closed);
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
  void settle() {
    for (int round = 0;; ++round) {
      bool pending = false;
      for (auto& h : helpers)
        if (!h->started || (h->expect_done && !h->done)) pending = true;
      if (!pending) break;
      if (round > 100000) {
        for (auto& h : helpers)
          if (h->expect_done && !h->done)
            diverge(op, std::string("a helper blocked in ") + (h->is_send ? "send" : "recv") + " on chan " +
                            std::to_string(h->chan) + " was not woken (lost wake-up)");
        diverge(op, "a new helper never started");
      }
      csp::runtime::gosched();
    }
    // A few more turns, so a helper woken by mistake shows it.
    for (int i = 0; i < 3; ++i) csp::runtime::gosched();
    for (auto& h : helpers) {
      if (h->done && !h->expect_done)
        diverge(op, std::string("a helper's ") + (h->is_send ? "send" : "recv") + " on chan " +
                        std::to_string(h->chan) + " completed, the model says it is still blocked");
      if (!h->done) continue;
      if (h->panicked != h->expect_panic)
        diverge(op, std::string("a helper's send on chan ") + std::to_string(h->chan) +
                        (h->panicked ? " panicked" : " did not panic") + ", the model says otherwise");
      if (!h->is_send && h->got != h->expect_got)
        diverge(op, "a helper received " + show(h->got) + " from chan " + std::to_string(h->chan) +
                        ", want " + show(h->expect_got));
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

  void spawn_helper(bool is_send, int c) {
    std::size_t live = 0;
    for (auto& h : helpers) live += !h->done;
    if (model[c].nil || live >= 6) return;  // a nil helper could never be released
    auto h = std::make_unique<helper>();
    helper* hp = h.get();
    hp->is_send = is_send;
    hp->chan = c;
    hp->value = next_value++;
    helpers.push_back(std::move(h));
    if (is_send) {
      step s = model_send(c, hp->value);
      if (s == step::would_block) model[c].sendq.push_back(hp);
      hp->expect_done = s != step::would_block;
      hp->expect_panic = s == step::panics;
      csp::go([hp, ch = real[c]] {
        hp->started = true;
        try {
          ch.send(hp->value);
        } catch (const csp::panic&) {
          hp->panicked = true;
        }
        hp->done = true;
      });
    } else {
      std::optional<int> v;
      step s = model_recv(c, &v);
      if (s == step::would_block) model[c].recvq.push_back(hp);
      else {
        hp->expect_done = true;
        hp->expect_got = v;
      }
      csp::go([hp, ch = real[c]] {
        hp->started = true;
        hp->got = ch.recv();
        hp->done = true;
      });
    }
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
    for (helper* r : m.recvq) {
      r->expect_done = true;
      r->expect_got.reset();
    }
    for (helper* s : m.sendq) {
      s->expect_done = true;
      s->expect_panic = true;
    }
    m.recvq.clear();
    m.sendq.clear();
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
      switch (b % 10) {
        case 0: do_try_send(c); break;
        case 1: do_try_recv(c); break;
        case 2: do_blocking_send(c); break;
        case 3: do_blocking_recv(c); break;
        case 4: do_close(c); break;
        case 5: spawn_helper(true, c); break;
        case 6: spawn_helper(false, c); break;
        case 7: do_select(true); break;
        case 8: do_select(false); break;
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
