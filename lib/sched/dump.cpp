// dump.cpp — Go-style goroutine dumps (runtime::dump_goroutines, SIGQUIT,
// deadlock reports). Formatted with async-signal-safe steps only
// (base/fixed_text.hpp): the SIGQUIT handler runs this.
//
//   goroutine 1 [chan receive, 2.0s]:
//   	main thread
//
//   goroutine 18 [chan send, 3 minutes]:
//   	created at examples/sieve.cpp:31 in void filter(chan<int>, chan<int>, int)
#include "sched/dump.hpp"

#include <unistd.h>

#include "base/fixed_text.hpp"
#include "base/mono_clock.hpp"
#include "sched/goroutine.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

// stall_report_ns: a running goroutine that has held its worker longer is
// reported as stalling it. 10 ms: far above a healthy time slice between
// switches (microseconds). Measured from the monitor's samples of the
// worker's schedtick (monitor.cpp): a lower bound, so a goroutine that has
// just started is never reported.
constexpr std::int64_t stall_report_ns = 10'000'000;

struct dump_ctx {
  dump_sink sink;
  void* ctx;
  std::int64_t now;  // mono_now_ns(), read once per dump (vDSO: async-signal-safe)
  const std::uint64_t* leaked;
  std::size_t n_leaked;
};

// add_duration appends a wait's length as Go's dumps give it: "3 minutes",
// "2.0s", "15ms".
template <std::size_t N>
void add_duration(fixed_text<N>& out, std::int64_t ns) {
  if (ns < 0) ns = 0;
  if (ns >= 60'000'000'000LL) {
    out.add_int(ns / 60'000'000'000LL).add(" minutes");
  } else if (ns >= 1'000'000'000LL) {
    const std::int64_t tenths = (ns + 50'000'000) / 100'000'000;  // rounded, as %.1f
    out.add_int(tenths / 10).add(".").add_int(tenths % 10).add("s");
  } else {
    out.add_int(ns / 1'000'000).add("ms");
  }
}

// state_name names state st (read once by the caller: the line's state
// and whether it gets a wait's length must agree while g parks).
const char* state_name(const goroutine* g, gstate st) {
  switch (st) {
    case gstate::idle: return "idle";
    case gstate::runnable: return "runnable";
    case gstate::running: return "running";
    case gstate::waiting: return wait_reason_name(g->reason.load(std::memory_order_relaxed));
  }
  return "unknown";
}

void emit(dump_ctx& d, const char* text) {
  std::size_t n = 0;
  while (text[n]) ++n;
  d.sink(text, n, d.ctx);
}

// stall_report: ", 2.1s without yielding: ..." for a goroutine that has
// held its worker (thread m, w) `held` ns. A goroutine that blocks its
// thread (std::mutex, ::sleep, a busy loop) keeps every other goroutine off
// that worker meanwhile.
template <std::size_t N>
void stall_report(fixed_text<N>& line, const worker* w, int m, std::int64_t held) {
  line.add(", ");
  add_duration(line, held);
  if (w->retaken.load(std::memory_order_relaxed))
    line.add(" without yielding: its worker ").add_int(m).add("'s slot was retaken");
  else
    line.add(" without yielding: stalls worker ").add_int(m);
}

void dump_one(const goroutine* g, void* p) {
  auto& d = *static_cast<dump_ctx*>(p);
  const gstate st = g->state.load(std::memory_order_relaxed);
  fixed_text<1400> line;
  line.add("goroutine ").add_uint(g->id).add(" [").add(state_name(g, st));
  if (st == gstate::waiting) {
    line.add(", ");
    add_duration(line, d.now - g->since.load(std::memory_order_relaxed));
  } else if (st == gstate::running) {
    // running_on is the thread's number; the monitor may have moved that
    // thread's slot to another thread (monitor.cpp).
    const int m = g->running_on.load(std::memory_order_relaxed);
    const worker* w = nullptr;
    if (scheduler::started() && m >= 0 && m < scheduler::instance().thread_count())
      w = scheduler::instance().thread_worker(m);
    std::int64_t held = 0;
    if (w != nullptr && w->schedtick.load(std::memory_order_relaxed) == w->seen_tick.load(std::memory_order_relaxed))
      held = d.now - w->seen_tick_at.load(std::memory_order_relaxed);
    if (held > stall_report_ns) stall_report(line, w, m, held);
  }
  line.add("]:\n\tcreated at ").add(g->created_at.file_name()).add(":").add_uint(g->created_at.line());
  line.add(" in ").add(g->created_at.function_name()).add("\n");
  emit(d, line.c_str());
  for (std::size_t i = 0; i < d.n_leaked; ++i) {
    if (d.leaked[i] == g->id) {
      emit(d, "\tleaked: blocked forever; no other task holds the channels it waits on\n");
      break;
    }
  }
  emit(d, "\n");
}

void fd_sink(const char* text, std::size_t len, void* ctx) {
  int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(ctx));
  while (len > 0) {
    ssize_t w = ::write(fd, text, len);
    if (w <= 0) return;
    text += w;
    len -= static_cast<std::size_t>(w);
  }
}

}  // namespace

std::atomic<bool> show_main_thread{true};

void dump_goroutines_to(dump_sink sink, void* ctx, bool from_signal, const std::uint64_t* leaked,
                        std::size_t n_leaked) {
  dump_ctx d{sink, ctx, mono_now_ns(), leaked, n_leaked};
  thread_task* m = main_thread_task();
  if (m != nullptr && show_main_thread.load(std::memory_order_relaxed)) {
    wait_reason why = m->reason.load(std::memory_order_relaxed);
    fixed_text<160> line;
    line.add("goroutine 1 [").add(wait_reason_name(why));
    if (why != wait_reason::none) {
      line.add(", ");
      add_duration(line, d.now - m->since.load(std::memory_order_relaxed));
    }
    line.add("]:\n\tmain thread\n\n");
    emit(d, line.c_str());
  }
  int skipped = for_each_goroutine(dump_one, &d, from_signal);
  if (skipped > 0) {
    fixed_text<120> line;
    line.add("(").add_int(skipped).add(" registry shards were busy and are not shown)\n");
    emit(d, line.c_str());
  }
}

void dump_goroutines_to_fd(int fd, bool from_signal) {
  dump_goroutines_to(fd_sink, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)), from_signal);
}

}  // namespace csp::detail
