// dump.cpp — Go-style goroutine dumps (runtime::dump_goroutines, SIGQUIT,
// deadlock reports).
//
//   goroutine 1 [chan receive, 2.0s]:
//   	main thread
//
//   goroutine 18 [chan send, 3 minutes]:
//   	created at examples/sieve.cpp:31 in void filter(chan<int>, chan<int>, int)
#include "sched/dump.hpp"

#include <unistd.h>

#include <cstdio>

#include "base/cycle_clock.hpp"
#include "sched/goroutine.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

// stall_report_ns: a running goroutine that has held its worker longer is
// reported as stalling it. 10 ms: far above a healthy time slice between
// switches (microseconds).
constexpr std::int64_t stall_report_ns = 10'000'000;

struct dump_ctx {
  dump_sink sink;
  void* ctx;
  cycle_clock::reading clock;  // read once per dump
  const std::uint64_t* leaked;
  std::size_t n_leaked;
};

void format_duration(char* out, std::size_t n, std::int64_t ns) {
  if (ns < 0) ns = 0;
  if (ns >= 60'000'000'000LL) std::snprintf(out, n, "%lld minutes", static_cast<long long>(ns / 60'000'000'000LL));
  else if (ns >= 1'000'000'000LL) std::snprintf(out, n, "%.1fs", static_cast<double>(ns) / 1e9);
  else std::snprintf(out, n, "%lldms", static_cast<long long>(ns / 1'000'000));
}

const char* state_name(const goroutine* g) {
  switch (g->state.load(std::memory_order_relaxed)) {
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

void dump_one(const goroutine* g, void* p) {
  auto& d = *static_cast<dump_ctx*>(p);
  char dur[96] = "";
  const gstate st = g->state.load(std::memory_order_relaxed);
  const std::int64_t held = d.clock.ns_since(g->since.load(std::memory_order_relaxed));
  if (st == gstate::waiting) {
    char t[48];
    format_duration(t, sizeof t, held);
    std::snprintf(dur, sizeof dur, ", %s", t);
  } else if (st == gstate::running && held > stall_report_ns) {
    // A goroutine that blocks its thread (std::mutex, ::sleep, a busy
    // loop) keeps every other goroutine off that worker meanwhile.
    char t[48];
    format_duration(t, sizeof t, held);
    std::snprintf(dur, sizeof dur, ", %s without yielding: stalls worker %d", t,
                  static_cast<int>(g->running_on.load(std::memory_order_relaxed)));
  }
  char line[1400];
  std::snprintf(line, sizeof line, "goroutine %llu [%s%s]:\n\tcreated at %s:%u in %s\n",
                static_cast<unsigned long long>(g->id), state_name(g), dur,
                g->created_at.file_name(), static_cast<unsigned>(g->created_at.line()),
                g->created_at.function_name());
  emit(d, line);
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
  dump_ctx d{sink, ctx, cycle_clock::reading(), leaked, n_leaked};
  thread_task* m = main_thread_task();
  if (m != nullptr && show_main_thread.load(std::memory_order_relaxed)) {
    wait_reason why = m->reason.load(std::memory_order_relaxed);
    char dur[48] = "";
    if (why != wait_reason::none) {
      char t[40];
      format_duration(t, sizeof t, d.clock.ns_since(m->since.load(std::memory_order_relaxed)));
      std::snprintf(dur, sizeof dur, ", %s", t);
    }
    char line[160];
    std::snprintf(line, sizeof line, "goroutine 1 [%s%s]:\n\tmain thread\n\n", wait_reason_name(why), dur);
    emit(d, line);
  }
  int skipped = for_each_goroutine(dump_one, &d, from_signal);
  if (skipped > 0) {
    char line[120];
    std::snprintf(line, sizeof line, "(%d registry shards were busy and are not shown)\n", skipped);
    emit(d, line);
  }
}

void dump_goroutines_to_fd(int fd, bool from_signal) {
  dump_goroutines_to(fd_sink, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)), from_signal);
}

}  // namespace csp::detail
