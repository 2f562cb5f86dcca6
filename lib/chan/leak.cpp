// leak.cpp — goroutine leak detection without a garbage collector.
//
// Go 1.26 reports goroutines blocked forever on channels that no running
// code can reach, using its collector's reachability. csp has no collector,
// but every channel counts its handles (chan_core_base::refs_), and that is
// enough to prove some goroutines leaked.
//
// Criterion. A *candidate* is a goroutine parked in a channel receive, send
// or select whose channels are all plain channels (not a timer's: a timer
// sends through a raw pointer while holding its channel weakly, so it can
// wake a receiver that no handle reaches). A candidate's *closure* is the
// lambda object and arguments go() copied into its control block; it lives
// as long as the goroutine's function runs. Every aligned word of a
// candidate's closure that equals one of the candidates' channels is counted
// as one handle held by that goroutine. Let L be the candidates, minus
// those "exposed" (below); then repeatedly drop from L every goroutine with
// a channel c such that refs(c) differs from the handles counted in the
// closures of L's members, until nothing changes. L is the report.
//
// Why a reported goroutine can never be woken. Only an operation on one of
// its channels readies a goroutine parked on channels, and an operation
// needs a handle (the runtime's own raw pointers — a select's cases, a
// range-for's iterator — come from a handle their caller keeps alive for
// the call; timers are excluded above). For every channel c that a member
// of L waits on, refs(c) equals the counted closure words; if every counted
// word is a live handle (next paragraph), every handle to c sits in the
// closure of a parked member of L, so no other task can operate on c, and a
// member could do so only after being woken itself. None can be first: all
// of L stay parked forever. Over-counting is the danger, under-counting is
// harmless: a handle on a goroutine's stack, in a heap object or a
// select_case is simply not counted, refs(c) then exceeds the count and the
// goroutine is not reported (a miss, never a false report). That is why the
// stacks, where stale copies of a channel's address are common, are never
// counted.
//
// Why a counted word is a live handle. A closure word equal to c's address
// is a handle unless it is (a) a handle destroyed in place (an emptied
// std::optional): chan_handle's destructor nulls its pointer; (b) a moved-
// from handle: moving nulls it; (c) bytes the closure never wrote: go()
// zeroes the closure's storage before constructing it (goroutine.cpp);
// (d) a raw chan_core*: only the runtime holds those, and none of its
// closures captures one; or (e) an integer, or padding bytes copied from
// garbage, that happen to equal a live channel's address. (e) is assumed
// away (a full aligned word of padding needs an over-aligned capture).
//
// Exposure. A closure's handle can also be used through a pointer or a
// reference to it, e.g. by a goroutine started with [&] from inside the
// candidate. So before the fixed point every other goroutine's closure, and
// the stack of every goroutine that is not running (from its saved stack
// pointer up), is scanned for words pointing into a candidate's closure; a
// candidate so pointed at is not reported (a stale pointer only costs a
// miss). Not seen, and so assumed absent: such a pointer kept only in heap
// memory, a global, a plain thread, or a running goroutine's stack.
//
// A consistent view without stopping the world. The check holds every shard
// of the channel registry (no channel is freed until it is done: chan_destroy
// waits in chan_registry_remove) and of the goroutine registry (no control
// block is freed). It reads each goroutine's state with acquire: park()
// publishes reason, park_seq, park_sp and the wait channels with a release
// store of `waiting`. Only after every state has been read does it read
// refcounts and closures, and at the end it re-reads each reported
// goroutine's state and park_seq: unchanged means it stayed parked from the
// first read to the last, so the counts were taken while all of L was
// parked; at that instant no other task held a handle to L's channels, and
// since a handle is only ever made by copying a handle, none will again. If
// one changed, the whole check is retried (three times, then it reports
// nothing). A channel pointer read from a goroutine (a select's cases are on
// its stack and may be overwritten once it resumes) is dereferenced only if
// it is in the registry, which keeps it alive while the locks are held.
// Stacks and closures are read without sanitizer instrumentation: a
// goroutine that just resumed may be writing them, and the park_seq check
// discards what such reads decided.
//
// Cost: chan_make and chan_destroy take a registry shard lock each;
// park() writes park_seq and park_sp; go() zeroes the closure (figures in
// docs/leaks.md). The check itself, O(goroutines + stack words in use),
// runs only when asked.
#include "chan/leak.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "base/registry_shard.hpp"
#include "base/spin_mutex.hpp"
#include "chan/chan_core.hpp"
#include "debug/fatal.hpp"
#include "sched/goroutine.hpp"

namespace csp::detail {

namespace {

// ---- the channel registry ---------------------------------------------------
// Shards by address, each an intrusive list under its own lock, so channels
// made and freed on different workers rarely meet on a lock.

constexpr int chan_shard_count = 16;

using chan_shard = registry_shard<chan_core, lock_rank::chan_registry>;

constinit chan_shard chan_shards[chan_shard_count];

chan_shard& shard_of(const chan_core* c) noexcept {
  auto a = reinterpret_cast<std::uintptr_t>(c);
  return chan_shards[((a >> 6) ^ (a >> 14)) % chan_shard_count];
}

void lock_chan_registry() noexcept CSP_NO_TSA {
  for (chan_shard& s : chan_shards) s.mu.lock();
}

void unlock_chan_registry() noexcept CSP_NO_TSA {
  for (int i = chan_shard_count - 1; i >= 0; --i) chan_shards[i].mu.unlock();
}

// ---- reading other goroutines' memory ---------------------------------------------

#define CSP_UNCHECKED_READS __attribute__((no_sanitize("address", "thread"), noinline))

struct range {
  const char* lo = nullptr;
  const char* hi = nullptr;
};

// word_at reads an aligned word that another thread may be writing.
CSP_UNCHECKED_READS std::uintptr_t word_at(const char* p) noexcept {
  return *reinterpret_cast<const volatile std::uintptr_t*>(p);
}

template <class F>
void for_each_word(range r, F&& f) {
  auto lo = (reinterpret_cast<std::uintptr_t>(r.lo) + sizeof(std::uintptr_t) - 1) & ~(sizeof(std::uintptr_t) - 1);
  for (auto p = lo; p + sizeof(std::uintptr_t) <= reinterpret_cast<std::uintptr_t>(r.hi); p += sizeof(std::uintptr_t))
    f(word_at(reinterpret_cast<const char*>(p)));
}

// stack_in_use: a goroutine's stack from its saved stack pointer to the top,
// or empty when unknown (running, or never started).
CSP_UNCHECKED_READS range stack_in_use(const goroutine* g, gstate st) noexcept {
  const char* bottom = static_cast<const char*>(g->stk.bottom);
  if (bottom == nullptr || st == gstate::running || st == gstate::idle) return {};
  const char* top = bottom + g->stk.size;
  const char* sp = st == gstate::waiting ? static_cast<const char*>(g->park_sp.load(std::memory_order_relaxed))
                                         : static_cast<const char*>(g->fiber.ctx);
  if (sp == nullptr || sp < bottom || sp >= top) return {bottom, top};  // unsure: all of it
  return {sp, top};
}

CSP_UNCHECKED_READS chan_core* case_chan(const scase* cases, int i) noexcept {
  return *reinterpret_cast<chan_core* const volatile*>(&cases[i].c);
}

struct gview {
  goroutine* g = nullptr;
  gstate state = gstate::idle;
  range closure;
  range stack;
  bool candidate = false;
  bool in_leak_set = false;
  std::uint32_t seq = 0;
  wait_reason reason = wait_reason::none;
  std::vector<int> chans;                          // indexes into checker::chans
  std::vector<std::pair<int, int>> closure_counts;  // (chan index, words)
};

struct checker {
  std::unordered_set<const chan_core*> live;
  std::vector<gview> all;
  std::vector<chan_core*> chans;  // every channel some candidate waits on
  std::unordered_map<const chan_core*, int> chan_index;

  int index_of(chan_core* c) {
    auto [it, added] = chan_index.try_emplace(c, static_cast<int>(chans.size()));
    if (added) chans.push_back(c);
    return it->second;
  }

  void collect(goroutine* g) {
    gview v;
    v.g = g;
    v.state = g->state.load(std::memory_order_acquire);  // acquire: see park()
    v.closure = {static_cast<const char*>(g->closure), static_cast<const char*>(g->closure) + g->closure_size};
    v.stack = stack_in_use(g, v.state);
    if (v.state == gstate::waiting) {
      v.reason = g->reason.load(std::memory_order_relaxed);
      v.seq = g->park_seq.load(std::memory_order_relaxed);
      if (v.reason == wait_reason::chan_receive || v.reason == wait_reason::chan_send ||
          v.reason == wait_reason::select)
        v.candidate = read_wait_chans(g, v);
    }
    all.push_back(std::move(v));
  }

  // read_wait_chans fills v.chans; false if g cannot be a candidate.
  bool read_wait_chans(const goroutine* g, gview& v) {
    const void* on = g->wait_on.load(std::memory_order_relaxed);
    int n = g->wait_n.load(std::memory_order_relaxed);
    if (on == nullptr || n == 0) return false;
    auto consider = [&](chan_core* c) {
      if (c == nullptr) return true;                    // a nil case: never ready, no waker
      if (!live.count(c)) return false;                 // stale: g resumed meanwhile
      if (c->on_destroy != nullptr) return false;       // a timer may send without a handle
      v.chans.push_back(index_of(c));
      return true;
    };
    if (n < 0) return consider(static_cast<chan_core*>(const_cast<void*>(on))) && !v.chans.empty();
    const auto* cases = static_cast<const scase*>(on);
    for (int i = 0; i < n; ++i)
      if (!consider(case_chan(cases, i))) return false;
    return !v.chans.empty();
  }

  void count_closure_handles(gview& v) {
    std::unordered_map<int, int> counts;
    for_each_word(v.closure, [&](std::uintptr_t w) {
      auto it = chan_index.find(reinterpret_cast<const chan_core*>(w));
      if (it != chan_index.end()) ++counts[it->second];
    });
    v.closure_counts.assign(counts.begin(), counts.end());
  }

  // expose drops every candidate whose closure another goroutine's closure
  // or stack points into.
  void expose() {
    struct owned { range r; int owner; };
    std::vector<owned> ranges;
    for (int i = 0; i < static_cast<int>(all.size()); ++i)
      if (all[i].in_leak_set && all[i].closure.lo != all[i].closure.hi) ranges.push_back({all[i].closure, i});
    if (ranges.empty()) return;
    std::sort(ranges.begin(), ranges.end(), [](const owned& a, const owned& b) { return a.r.lo < b.r.lo; });
    auto lo = reinterpret_cast<std::uintptr_t>(ranges.front().r.lo);
    auto hi = reinterpret_cast<std::uintptr_t>(ranges.back().r.hi);
    for (int x = 0; x < static_cast<int>(all.size()); ++x) {
      auto check = [&](std::uintptr_t w) {
        if (w < lo || w >= hi) return;
        auto p = reinterpret_cast<const char*>(w);
        auto it = std::upper_bound(ranges.begin(), ranges.end(), p,
                                   [](const char* q, const owned& o) { return q < o.r.lo; });
        if (it == ranges.begin()) return;
        --it;
        if (p < it->r.hi && it->owner != x) all[it->owner].in_leak_set = false;
      };
      for_each_word(all[x].closure, check);
      for_each_word(all[x].stack, check);
    }
  }

  void fixed_point() {
    std::vector<std::size_t> refs(chans.size());
    // acquire: pairs with the releasing decrements; the count is one value
    // in its modification order, read while every candidate was parked.
    for (std::size_t i = 0; i < chans.size(); ++i) refs[i] = chan_base(chans[i])->refs_.load(std::memory_order_acquire);
    for (bool changed = true; changed;) {
      changed = false;
      std::vector<std::size_t> counted(chans.size(), 0);
      for (const gview& v : all)
        if (v.in_leak_set)
          for (auto [c, k] : v.closure_counts) counted[static_cast<std::size_t>(c)] += static_cast<std::size_t>(k);
      for (gview& v : all) {
        if (!v.in_leak_set) continue;
        for (int c : v.chans) {
          if (refs[static_cast<std::size_t>(c)] != counted[static_cast<std::size_t>(c)]) {
            v.in_leak_set = false;
            changed = true;
            break;
          }
        }
      }
    }
  }

  // run returns false if a reported goroutine did not stay parked.
  bool run(std::vector<leak_report>& out) CSP_NO_TSA {
    for (chan_shard& s : chan_shards)
      for (chan_core* c = s.head; c != nullptr; c = c->all_next) live.insert(c);
    for_each_goroutine_locked([](goroutine* g, void* self) { static_cast<checker*>(self)->collect(g); }, this);
    for (gview& v : all) {
      v.in_leak_set = v.candidate;
      if (v.candidate) count_closure_handles(v);
    }
    expose();
    fixed_point();
    for (const gview& v : all) {
      if (!v.in_leak_set) continue;
      if (v.g->state.load(std::memory_order_acquire) != gstate::waiting ||
          v.g->park_seq.load(std::memory_order_relaxed) != v.seq)
        return false;
      out.push_back({v.g->id, v.g->created_at, v.reason});
    }
    std::sort(out.begin(), out.end(), [](const leak_report& a, const leak_report& b) { return a.id < b.id; });
    return true;
  }
};

// ---- CSP_LEAKCHECK=1: the report when main returns ----------------------------------

void report_at_exit(int, void*) {
  std::vector<leak_report> leaks = find_leaks();
  std::string text;
  char line[1400];
  if (leaks.empty()) {
    text = "csp: leak check: no leaked goroutines\n";
  } else {
    std::snprintf(line, sizeof line,
                  "csp: leak check: %zu leaked goroutine%s (blocked forever on channels no other task holds):\n\n",
                  leaks.size(), leaks.size() == 1 ? "" : "s");
    text = line;
    for (const leak_report& l : leaks) {
      std::snprintf(line, sizeof line, "goroutine %llu [%s, leaked]:\n\tcreated at %s:%u in %s\n\n",
                    static_cast<unsigned long long>(l.id), wait_reason_name(l.reason), l.created_at.file_name(),
                    static_cast<unsigned>(l.created_at.line()), l.created_at.function_name());
      text += line;
    }
  }
  std::fflush(nullptr);
  write_stderr(text.c_str());
}

// Registered when the library loads, before main and before the scheduler's
// own on_exit hook (so it runs after that one: workers have stopped taking
// goroutines, and main's locals, handles included, are gone).
[[maybe_unused]] const bool leakcheck_registered = [] {
  const char* v = std::getenv("CSP_LEAKCHECK");
  if (v != nullptr && std::strcmp(v, "1") == 0) ::on_exit(report_at_exit, nullptr);
  return true;
}();

}  // namespace

void chan_registry_add(chan_core* c) noexcept { shard_of(c).add(c); }

void chan_registry_remove(chan_core* c) noexcept { shard_of(c).remove(c); }

std::vector<leak_report> find_leaks() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<leak_report> out;
    checker check;
    lock_chan_registry();
    registry_lock_all();
    bool stable = check.run(out);
    registry_unlock_all();
    unlock_chan_registry();
    if (stable) return out;
  }
  return {};
}

}  // namespace csp::detail
