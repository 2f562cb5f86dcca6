// trace.cpp — CSP_TRACE's event buffers and JSON writer. Invariants and
// lock order: trace.hpp.
#include "sched/trace.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include "csp/detail/source_location.hpp"

#include "base/mono_clock.hpp"
#include "base/ranked_mutex.hpp"
#include "base/spin_mutex.hpp"
#include "sched/goroutine.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

__attribute__((visibility("hidden"))) bool trace_on = false;

namespace {

enum class ev_kind : std::uint8_t {
  go,            // gid: the child; flow: to its first run; loc: its creation site
  ready,         // gid: the readied goroutine (0: a thread); flow; reason: why it was parked
  run,           // ts..ts2: a goroutine's run; gid, loc; flow: the one that readied it (0: none)
  thread_run,    // ts..ts2: a plain thread between blocking calls
  thread_block,  // ts..ts2: a plain thread blocked; reason; flow: the one that woke it
};

struct trace_event {
  std::int64_t ts;
  std::int64_t ts2;
  std::uint64_t gid;
  std::uint64_t flow;
  csp::detail::source_location loc;
  ev_kind kind;
  wait_reason reason;
  trace_run_end end;
};

// 16384 events of 48 bytes: 768 KiB per recording thread, so a buffer
// fills (and costs a file write) at most every few milliseconds of dense
// scheduling; large enough that a short teaching run never flushes early.
constexpr std::uint32_t buffer_events = 16384;

struct trace_buffer {
  int tid = 0;                 // the track: worker index + 1, or 1000 + n for plain threads
  bool is_main = false;
  trace_buffer* next = nullptr;  // all buffers; immutable once linked
  // Owner only:
  std::int64_t run_start = 0;    // worker: current goroutine's switch-in; thread: end of last block
  std::int64_t block_start = 0;  // thread: when it parked
  wait_reason block_reason = wait_reason::none;
  std::uint64_t flow_seq = 0;
  spin_mutex flush_mu{lock_rank::trace_flush};           // see trace.hpp
  std::atomic<std::uint32_t> len{0};
  trace_event ev[buffer_events];
};

spin_mutex file_mu{lock_rank::trace_file};  // guards the file and `closed`
std::FILE* file = nullptr;
bool closed = false;
bool first_event = true;
std::int64_t t0 = 0;

ranked_mutex buffers_mu{lock_rank::trace_buffers};  // guards the list head and next_thread_tid
trace_buffer* buffers = nullptr;
int next_thread_tid = 10000;  // above every worker thread's number (scheduler::max_threads)

__attribute__((tls_model("initial-exec"))) thread_local trace_buffer* tls_buffer = nullptr;

trace_buffer* new_buffer() {
  auto* b = new trace_buffer();
  worker* w = current_worker();
  std::lock_guard<ranked_mutex> lock(buffers_mu);
  if (w != nullptr) {
    // The thread's number, not its slot's index: after a retake
    // (monitor.cpp) two threads have run one slot, and flow ids embed the
    // tid, so they must stay unique per thread.
    b->tid = w->thread_no + 1;
  } else {
    b->tid = next_thread_tid++;
    b->is_main = ::getpid() == static_cast<pid_t>(::gettid());
    b->run_start = mono_now_ns();
  }
  b->next = buffers;
  buffers = b;
  return b;
}

// my_buffer: the calling thread's buffer. Never inlined, as current_worker().
__attribute__((noinline)) trace_buffer* my_buffer() noexcept {
  trace_buffer* b = tls_buffer;
  if (__builtin_expect(b == nullptr, 0)) tls_buffer = b = new_buffer();
  return b;
}

// ---- JSON ---------------------------------------------------------------------
//
// Written by hand rather than with printf: formatting is most of what
// tracing costs (it runs for every event when a buffer is written out).

struct out_line {
  char text[2048];
  int n = 0;
  bool room(int k) const { return n + k < static_cast<int>(sizeof text); }
  out_line& str(const char* s) {
    std::size_t k = std::min(std::strlen(s), sizeof text - 1 - static_cast<std::size_t>(n));
    std::memcpy(text + n, s, k);
    n += static_cast<int>(k);
    return *this;
  }
  out_line& u64(std::uint64_t v) {
    char d[24];
    int k = 0;
    do {
      d[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (k > 0 && room(1)) text[n++] = d[--k];
    return *this;
  }
  // us writes a duration in ns as microseconds with three decimals.
  out_line& us(std::int64_t ns) {
    if (ns < 0) {
      str("-");
      ns = -ns;
    }
    u64(static_cast<std::uint64_t>(ns) / 1000);
    unsigned frac = static_cast<unsigned>(static_cast<std::uint64_t>(ns) % 1000);
    if (room(4)) {
      text[n++] = '.';
      text[n++] = static_cast<char>('0' + frac / 100);
      text[n++] = static_cast<char>('0' + frac / 10 % 10);
      text[n++] = static_cast<char>('0' + frac % 10);
    }
    return *this;
  }
  // escaped appends s as the inside of a JSON string.
  out_line& escaped(const char* s) {
    static const char hex[] = "0123456789abcdef";
    for (; *s && room(8); ++s) {
      unsigned char c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') {
        text[n++] = '\\';
        text[n++] = static_cast<char>(c);
      } else if (c < 0x20) {
        str("\\u00");
        text[n++] = hex[c >> 4];
        text[n++] = hex[c & 15];
      } else {
        text[n++] = static_cast<char>(c);
      }
    }
    return *this;
  }
  // head starts an event: {"ph":"<ph>","pid":1,"tid":<tid>,"ts":<ts>
  out_line& head(const char* ph, int tid, std::int64_t ts) {
    return str("{\"ph\":\"").str(ph).str("\",\"pid\":1,\"tid\":").u64(static_cast<std::uint64_t>(tid))
        .str(",\"ts\":").us(ts - t0);
  }
};

const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

// emit writes one event object. Caller holds file_mu.
void emit(const out_line& l) {
  std::fputs(first_event ? "[\n" : ",\n", file);
  first_event = false;
  std::fwrite(l.text, 1, static_cast<std::size_t>(l.n), file);
}

out_line& site(out_line& l, const csp::detail::source_location& loc) {
  return l.str("\"created_at\":\"").escaped(loc.file_name()).str(":").u64(loc.line()).str(" in ")
      .escaped(loc.function_name()).str("\"");
}

void emit_flow(const char* ph, int tid, std::int64_t ts, std::uint64_t id) {
  out_line l;
  l.head(ph, tid, ts);
  if (ph[0] == 'f') l.str(",\"bp\":\"e\"");
  emit(l.str(",\"id\":").u64(id).str(",\"name\":\"wake\",\"cat\":\"wake\"}"));
}

// emit_flow_slice writes the slice that encloses a go or ready event's flow
// start: Perfetto drops a flow start outside a slice, and many have none
// around them (a worker's scheduler loop running timers or the poller, a
// plain thread whose stretch is written only when it next blocks, a run
// still open at exit). 1 ns long, the file's resolution: inside a run or a
// thread's stretch it nests, and it overlaps no other slice, since two
// events on one track are at least a clock read apart. Written before the
// flow start, so that a viewer ordering by time opens it first.
void emit_flow_slice(const char* name, int tid, std::int64_t ts, std::uint64_t gid) {
  out_line l;
  l.head("X", tid, ts).str(",\"dur\":0.001,\"name\":\"").str(name);
  if (gid != 0) l.u64(gid);
  emit(l.str("\",\"cat\":\"wake\"}"));
}

void emit_park(int tid, std::int64_t ts, std::uint64_t gid, wait_reason why) {
  out_line l;
  const char* reason = wait_reason_name(why);
  l.head("i", tid, ts).str(",\"s\":\"t\",\"name\":\"park: ").str(reason);
  emit(l.str("\",\"cat\":\"park\",\"args\":{\"goroutine\":").u64(gid).str(",\"reason\":\"").str(reason).str("\"}}"));
}

void write_event(const trace_buffer& b, const trace_event& e) {
  out_line l;
  switch (e.kind) {
    case ev_kind::go:
      emit_flow_slice("go g", b.tid, e.ts, e.gid);
      // The creation event carries the full site; run slices name only file:line.
      l.head("i", b.tid, e.ts).str(",\"s\":\"t\",\"name\":\"go g").u64(e.gid);
      l.str("\",\"cat\":\"go\",\"args\":{\"goroutine\":").u64(e.gid).str(",");
      emit(site(l, e.loc).str("}}"));
      emit_flow("s", b.tid, e.ts, e.flow);
      return;
    case ev_kind::ready:
      emit_flow_slice(e.gid != 0 ? "wake g" : "wake thread", b.tid, e.ts, e.gid);
      l.head("i", b.tid, e.ts).str(",\"s\":\"t\",\"name\":\"ready ");
      if (e.gid != 0) l.str("g").u64(e.gid); else l.str("thread");
      l.str("\",\"cat\":\"ready\",\"args\":{\"goroutine\":").u64(e.gid);
      emit(l.str(",\"reason\":\"").str(wait_reason_name(e.reason)).str("\"}}"));
      emit_flow("s", b.tid, e.ts, e.flow);
      return;
    case ev_kind::run: {
      const char* how = e.end == trace_run_end::park ? "park" : e.end == trace_run_end::yield ? "yield" : "exit";
      l.head("X", b.tid, e.ts).str(",\"dur\":").us(e.ts2 - e.ts).str(",\"name\":\"g").u64(e.gid).str(" ");
      l.escaped(base_name(e.loc.file_name())).str(":").u64(e.loc.line());
      l.str("\",\"cat\":\"run\",\"args\":{\"goroutine\":").u64(e.gid).str(",\"end\":\"").str(how).str("\"");
      if (e.end == trace_run_end::park) l.str(",\"reason\":\"").str(wait_reason_name(e.reason)).str("\"");
      emit(l.str("}}"));
      if (e.flow != 0) emit_flow("f", b.tid, e.ts, e.flow);
      if (e.end == trace_run_end::park) emit_park(b.tid, e.ts2, e.gid, e.reason);
      return;
    }
    case ev_kind::thread_run:
      l.head("X", b.tid, e.ts).str(",\"dur\":").us(e.ts2 - e.ts);
      emit(l.str(",\"name\":\"").str(b.is_main ? "main thread" : "thread").str("\",\"cat\":\"thread\"}"));
      return;
    case ev_kind::thread_block:
      l.head("X", b.tid, e.ts).str(",\"dur\":").us(e.ts2 - e.ts).str(",\"name\":\"blocked: ");
      l.str(wait_reason_name(e.reason)).str("\",\"cat\":\"blocked\",\"args\":{\"reason\":\"");
      emit(l.str(wait_reason_name(e.reason)).str("\"}}"));
      emit_park(b.tid, e.ts, 0, e.reason);
      if (e.flow != 0) emit_flow("f", b.tid, e.ts2, e.flow);
      return;
  }
}

void write_metadata(const trace_buffer& b) {
  auto tid = static_cast<std::uint64_t>(b.tid);
  out_line l;
  l.str("{\"ph\":\"M\",\"pid\":1,\"tid\":").u64(tid).str(",\"name\":\"thread_name\",\"args\":{\"name\":\"");
  if (b.tid < 1000) l.str("worker ").u64(tid - 1);
  else if (b.is_main) l.str("main thread");
  else l.str("thread ").u64(tid - 1000);
  emit(l.str("\"}}"));
  out_line s;
  s.str("{\"ph\":\"M\",\"pid\":1,\"tid\":").u64(tid).str(",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":");
  emit(s.u64(tid).str("}}"));
}

// write_published writes b's published events. Caller holds b.flush_mu and file_mu.
void write_published(trace_buffer& b) {
  // acquire; pairs with the release store in commit(): the events are complete.
  std::uint32_t n = b.len.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < n; ++i) write_event(b, b.ev[i]);
}

// slot returns where the owner's next event goes, writing out a full buffer first.
trace_event* slot(trace_buffer* b) noexcept {
  std::uint32_t n = b->len.load(std::memory_order_relaxed);  // owner: its own last store
  if (__builtin_expect(n == buffer_events, 0)) {
    std::lock_guard<spin_mutex> own(b->flush_mu);
    std::lock_guard<spin_mutex> f(file_mu);
    if (!closed) write_published(*b);
    b->len.store(0, std::memory_order_relaxed);  // flushers read only under flush_mu
    n = 0;
  }
  return &b->ev[n];
}

void commit(trace_buffer* b) noexcept {
  // release; pairs with the acquire in write_published().
  b->len.store(b->len.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

std::uint64_t new_flow(trace_buffer* b) noexcept {
  // Unique across buffers: the track in the high bits.
  return (static_cast<std::uint64_t>(b->tid) << 40) | ++b->flow_seq;
}

}  // namespace

void trace_start() noexcept {
  const char* path = std::getenv("CSP_TRACE");
  if (path == nullptr || *path == '\0') return;
  file = std::fopen(path, "w");
  if (file == nullptr) {
    std::fprintf(stderr, "csp: CSP_TRACE=%s: cannot open the file; not tracing\n", path);
    return;
  }
  t0 = mono_now_ns();
  out_line l;
  emit(l.str("{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"csp\"}}"));
  trace_on = true;
}

void trace_go(goroutine* child) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::go;
  e->ts = mono_now_ns();
  e->gid = child->id;
  e->loc = child->created_at;
  e->flow = child->trace_flow = new_flow(b);
  commit(b);
}

void trace_ready(task* t) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::ready;
  e->ts = mono_now_ns();
  e->gid = t->kind_ == task::kind::goroutine ? static_cast<goroutine*>(t)->id : 0;
  e->reason = t->reason.load(std::memory_order_relaxed);
  e->flow = t->trace_flow = new_flow(b);
  commit(b);
}

void trace_run_begin(goroutine*) noexcept { my_buffer()->run_start = mono_now_ns(); }

void trace_run_finish(goroutine* g, trace_run_end how) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::run;
  e->ts = b->run_start;
  e->ts2 = mono_now_ns();
  e->gid = g->id;
  e->loc = g->created_at;
  e->flow = std::exchange(g->trace_flow, 0);
  e->end = how;
  e->reason = g->reason.load(std::memory_order_relaxed);
  commit(b);
}

void trace_thread_park(wait_reason why) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::thread_run;
  e->ts = b->run_start;
  e->ts2 = b->block_start = mono_now_ns();
  commit(b);
  b->block_reason = why;
}

void trace_thread_unpark(task* t) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::thread_block;
  e->ts = b->block_start;
  e->ts2 = b->run_start = mono_now_ns();
  e->reason = b->block_reason;
  e->flow = std::exchange(t->trace_flow, 0);
  commit(b);
}

void trace_flush_at_exit() noexcept {
  if (!trace_on) return;
  std::int64_t end = mono_now_ns();
  std::lock_guard<ranked_mutex> list(buffers_mu);
  for (trace_buffer* b = buffers; b != nullptr; b = b->next) {
    std::lock_guard<spin_mutex> own(b->flush_mu);
    std::lock_guard<spin_mutex> f(file_mu);
    if (closed) return;
    write_metadata(*b);
    write_published(*b);
    // A plain thread's last stretch (main, up to its return) is still open.
    if (b->tid >= 1000 && b == tls_buffer) {
      trace_event e{};
      e.kind = ev_kind::thread_run;
      e.ts = b->run_start;
      e.ts2 = end;
      write_event(*b, e);
    }
  }
  std::lock_guard<spin_mutex> f(file_mu);
  std::fputs("\n]\n", file);
  std::fclose(file);
  file = nullptr;
  closed = true;
}

}  // namespace csp::detail
