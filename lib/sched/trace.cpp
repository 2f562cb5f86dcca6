// trace.cpp — CSP_TRACE's event buffers and JSON writer. Invariants and
// lock order: trace.hpp.
#include "sched/trace.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <utility>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <source_location>

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
  std::source_location loc;
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
  spin_mutex flush_mu;           // see trace.hpp
  std::atomic<std::uint32_t> len{0};
  trace_event ev[buffer_events];
};

spin_mutex file_mu;  // guards the file and `closed`
std::FILE* file = nullptr;
bool closed = false;
bool first_event = true;
std::int64_t t0 = 0;

std::mutex buffers_mu;  // guards the list head and next_thread_tid
trace_buffer* buffers = nullptr;
int next_thread_tid = 1000;

__attribute__((tls_model("initial-exec"))) thread_local trace_buffer* tls_buffer = nullptr;

std::int64_t now_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

trace_buffer* new_buffer() {
  auto* b = new trace_buffer();
  worker* w = current_worker();
  std::lock_guard<std::mutex> lock(buffers_mu);
  if (w != nullptr) {
    b->tid = w->index + 1;
  } else {
    b->tid = next_thread_tid++;
    b->is_main = ::getpid() == static_cast<pid_t>(::gettid());
    b->run_start = now_ns();
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

struct out_line {
  char text[2048];
  int n = 0;
  void add(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    va_list ap;
    va_start(ap, fmt);
    int k = std::vsnprintf(text + n, sizeof text - static_cast<std::size_t>(n), fmt, ap);
    va_end(ap);
    if (k > 0) n = std::min(n + k, static_cast<int>(sizeof text) - 1);
  }
  // add_escaped appends s as the inside of a JSON string.
  void add_escaped(const char* s) {
    for (; *s && n < static_cast<int>(sizeof text) - 8; ++s) {
      unsigned char c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') { text[n++] = '\\'; text[n++] = static_cast<char>(c); }
      else if (c < 0x20) n += std::snprintf(text + n, 8, "\\u%04x", c);
      else text[n++] = static_cast<char>(c);
    }
    text[n] = '\0';
  }
};

const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

double us(std::int64_t ns) { return static_cast<double>(ns - t0) / 1000.0; }

// emit writes one event object. Caller holds file_mu.
void emit(const out_line& l) {
  std::fputs(first_event ? "[\n" : ",\n", file);
  first_event = false;
  std::fwrite(l.text, 1, static_cast<std::size_t>(l.n), file);
}

void emit_site(out_line& l, const std::source_location& loc) {
  l.add("\"created_at\":\"");
  l.add_escaped(loc.file_name());
  l.add(":%u in ", static_cast<unsigned>(loc.line()));
  l.add_escaped(loc.function_name());
  l.add("\"");
}

void emit_flow(char ph, int tid, std::int64_t ts, std::uint64_t id) {
  out_line l;
  l.add("{\"ph\":\"%c\",%s\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"id\":%llu,\"name\":\"wake\",\"cat\":\"wake\"}",
        ph, ph == 'f' ? "\"bp\":\"e\"," : "", tid, us(ts), static_cast<unsigned long long>(id));
  emit(l);
}

void write_event(const trace_buffer& b, const trace_event& e) {
  out_line l;
  switch (e.kind) {
    case ev_kind::go:
      l.add("{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"name\":\"go g%llu\",\"cat\":\"go\","
            "\"args\":{\"goroutine\":%llu,", b.tid, us(e.ts), static_cast<unsigned long long>(e.gid),
            static_cast<unsigned long long>(e.gid));
      emit_site(l, e.loc);
      l.add("}}");
      emit(l);
      emit_flow('s', b.tid, e.ts, e.flow);
      return;
    case ev_kind::ready:
      l.add("{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"name\":\"ready %s%llu\",\"cat\":\"ready\","
            "\"args\":{\"goroutine\":%llu,\"reason\":\"%s\"}}",
            b.tid, us(e.ts), e.gid ? "g" : "thread ", static_cast<unsigned long long>(e.gid),
            static_cast<unsigned long long>(e.gid), wait_reason_name(e.reason));
      emit(l);
      emit_flow('s', b.tid, e.ts, e.flow);
      return;
    case ev_kind::run: {
      const char* how = e.end == trace_run_end::park ? "park" : e.end == trace_run_end::yield ? "yield" : "exit";
      l.add("{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"name\":\"g%llu %s:%u\",\"cat\":\"run\","
            "\"args\":{\"goroutine\":%llu,",
            b.tid, us(e.ts), static_cast<double>(e.ts2 - e.ts) / 1000.0, static_cast<unsigned long long>(e.gid),
            base_name(e.loc.file_name()), static_cast<unsigned>(e.loc.line()),
            static_cast<unsigned long long>(e.gid));
      emit_site(l, e.loc);
      l.add(",\"end\":\"%s\"", how);
      if (e.end == trace_run_end::park) l.add(",\"reason\":\"%s\"", wait_reason_name(e.reason));
      l.add("}}");
      emit(l);
      if (e.flow != 0) emit_flow('f', b.tid, e.ts, e.flow);
      if (e.end == trace_run_end::park) {
        out_line p;
        p.add("{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"name\":\"park: %s\",\"cat\":\"park\","
              "\"args\":{\"goroutine\":%llu,\"reason\":\"%s\"}}",
              b.tid, us(e.ts2), wait_reason_name(e.reason), static_cast<unsigned long long>(e.gid),
              wait_reason_name(e.reason));
        emit(p);
      }
      return;
    }
    case ev_kind::thread_run:
      l.add("{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"name\":\"%s\",\"cat\":\"thread\"}",
            b.tid, us(e.ts), static_cast<double>(e.ts2 - e.ts) / 1000.0, b.is_main ? "main thread" : "thread");
      emit(l);
      return;
    case ev_kind::thread_block:
      l.add("{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"name\":\"blocked: %s\",\"cat\":\"blocked\","
            "\"args\":{\"reason\":\"%s\"}}",
            b.tid, us(e.ts), static_cast<double>(e.ts2 - e.ts) / 1000.0, wait_reason_name(e.reason),
            wait_reason_name(e.reason));
      emit(l);
      {
        out_line p;
        p.add("{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"name\":\"park: %s\",\"cat\":\"park\","
              "\"args\":{\"goroutine\":0,\"reason\":\"%s\"}}",
              b.tid, us(e.ts), wait_reason_name(e.reason), wait_reason_name(e.reason));
        emit(p);
      }
      if (e.flow != 0) emit_flow('f', b.tid, e.ts2, e.flow);
      return;
  }
}

void write_metadata(const trace_buffer& b) {
  out_line l;
  char name[32];
  if (b.tid < 1000) std::snprintf(name, sizeof name, "worker %d", b.tid - 1);
  else if (b.is_main) std::snprintf(name, sizeof name, "main thread");
  else std::snprintf(name, sizeof name, "thread %d", b.tid - 1000);
  l.add("{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\",\"args\":{\"name\":\"%s\"}}", b.tid, name);
  emit(l);
  out_line s;
  s.add("{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%d}}",
        b.tid, b.tid);
  emit(s);
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
  t0 = now_ns();
  out_line l;
  l.add("{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"csp\"}}");
  emit(l);
  trace_on = true;
}

void trace_go(goroutine* child) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::go;
  e->ts = now_ns();
  e->gid = child->id;
  e->loc = child->created_at;
  e->flow = child->trace_flow = new_flow(b);
  commit(b);
}

void trace_ready(task* t) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::ready;
  e->ts = now_ns();
  e->gid = t->kind_ == task::kind::goroutine ? static_cast<goroutine*>(t)->id : 0;
  e->reason = t->reason.load(std::memory_order_relaxed);
  e->flow = t->trace_flow = new_flow(b);
  commit(b);
}

void trace_run_begin(goroutine*) noexcept { my_buffer()->run_start = now_ns(); }

void trace_run_finish(goroutine* g, trace_run_end how) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::run;
  e->ts = b->run_start;
  e->ts2 = now_ns();
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
  e->ts2 = b->block_start = now_ns();
  commit(b);
  b->block_reason = why;
}

void trace_thread_unpark(task* t) noexcept {
  trace_buffer* b = my_buffer();
  trace_event* e = slot(b);
  e->kind = ev_kind::thread_block;
  e->ts = b->block_start;
  e->ts2 = b->run_start = now_ns();
  e->reason = b->block_reason;
  e->flow = std::exchange(t->trace_flow, 0);
  commit(b);
}

void trace_flush_at_exit() noexcept {
  if (!trace_on) return;
  std::int64_t end = now_ns();
  std::lock_guard<std::mutex> list(buffers_mu);
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
