// idle_model_test.cpp — an exhaustive model check of the scheduler's
// idle/wake protocol (lib/sched/idle.cpp and its callers), as Tokio checks
// its scheduler with loom.
//
// The model: two workers (W0, W1) and one plain thread (A), each a program
// of atomic steps over a shared state: the global queue, each worker's
// run_next slot and local queue, n_idle_, n_spinning_, the idle list,
// timer_sleeper_, sleeper_deadline_, timer_next_deadline, gomaxprocs, the
// parkers' tokens and sched_mu_. Every step is one access to shared memory
// (or one sched_mu_ critical section whose body only lock-protected data
// and one seq_cst atomic see) and names the function and the file and line
// it models: idle.cpp, worker_loop.cpp, switch.cpp, sleeper.cpp, procs.cpp
// and scheduler.{hpp,cpp} in lib/sched/, parker.cpp in lib/base/,
// timer_heap.cpp in lib/time/ (as of commit 274815d). A depth-first search
// runs every interleaving, with visited states deduplicated.
//
// Memory model: `sc` runs the steps sequentially consistently (every
// operation the protocol's Dekker pairs use is seq_cst). `weak` lets the
// stores the code makes with release/acq_rel order (push_local's run_next
// exchange and local-queue push) sit in a per-thread FIFO store buffer
// until a later store or fence of the same thread, or any moment
// (a nondeterministic flush step): the store-then-load reordering that C++
// (and AArch64) allow without a seq_cst fence, the one a Dekker pair must
// rule out. Other threads' read-modify-writes of a buffered location wait
// for it (RMWs of one location are totally ordered).
//
// The global queue is moodycamel::ConcurrentQueue and a seq_cst count
// (lib/sched/global_queue.hpp): a push counts, then enqueues; a take reads
// the count, dequeues, then uncounts; and a take may come back with fewer
// goroutines than are queued, or none, while the count says work (the
// checker tries every number, none included). So no step may sleep on a
// failed take: the property below fails if one does (idle.cpp, invariant
// 6). The counting order does not matter to this model (with the count
// after the enqueue it passes too): every modelled pusher notifies after
// its count.
//
// Not modelled: time passing (no timer falls due, a timed sleep ends only
// by a wake-up), the monitor (lib/sched/monitor.cpp, Go's sysmon), retaken
// and spare threads, the netpoller, lending, check_deadlock, the
// 61st-schedule checks, the run_next streak limit, local-queue overflow,
// and steals of more than one goroutine (at most two per queue here). The
// monitor is a backstop, not part of the protocol (monitor.cpp, invariant
// 7): it turns each lost wake-up found here into a stall of one or two of
// its periods (10-20 ms) instead of one that lasts until the next wake-up.
//
// Property, checked in every state where no thread can take a step: no
// goroutine is queued (global queue, a run_next or a local queue) while a
// worker sleeps in go_idle, and no timer is armed while a worker sleeps and
// no sleeping worker's deadline covers it. A worker running a goroutine that
// never yields is busy for good (so a wake-up that only that worker could
// answer is lost, as in issue 15's finding 1). Also checked: every
// goroutine is in exactly one place (a model bug otherwise).
//
// A variant names the protocol checked: today's code (the defaults, which
// include the three changes this model found necessary and lib/ adopted:
// ready_worker_fence, unspin_under_lock, batch_wake), the code before
// those changes (before_fixes), or a mutation that breaks one step (an
// older or wrong variant), which must yield a counterexample, printed as a
// numbered interleaving: the checker can fail.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int n_workers = 2;
constexpr int n_threads = 3;  // W0, W1, and the plain thread A
constexpr int actor = 2;
constexpr std::uint8_t never = 0xff;  // a deadline: no timer
constexpr int max_items = 7;          // goroutines are 1..6; 0 is none

// ---- the shared state ------------------------------------------------------

// Shared atomics, by index into state::mem (one byte each).
enum cell : std::uint8_t {
  run_next0,  // worker::run_next (W0, then W1)
  run_next1,
  runq0,      // worker::runq, a FIFO of up to two goroutines (4 bits each)
  runq1,
  n_idle,     // scheduler::n_idle_
  n_spinning, // scheduler::n_spinning_
  sleeper_deadline,  // scheduler::sleeper_deadline_
  next_deadline,     // timer_next_deadline
  nprocs,            // scheduler::nprocs_
  n_cells
};

// Program counters: one per modelled step. The comments name the code.
enum pc : std::uint8_t {
  // find_runnable (worker_loop.cpp:95-160)
  f_top, f_run_next, f_runq, f_global_size, f_global_pop, f_global_take, f_spin_start, f_steal,
  f_steal_run_next, f_spin_global_size, f_spin_global_pop, f_spin_global_take, f_global_uncount,
  f_global_batch, f_found, f_execute,
  // a goroutine's next operation, on its worker
  g_next_op, busy_forever,
  // ready() from a worker (scheduler.cpp:131-144, notify_local_work: scheduler.hpp:300-303)
  rw_nprocs, rw_push, rw_push_old, rw_fence, rw_load_idle, rw_load_spinning,
  // ready() from a plain thread (scheduler.cpp:153-156)
  rp_push,
  // a yield: switch_away -> next_for_handoff, then after_switch (switch.cpp:130-142, 59-68)
  y_nprocs, y_run_next, y_runq, y_push, y_switch,
  // go_idle (idle.cpp:138-260)
  i_global_size, i_unspin, i_join, i_fence, i_vis_global, i_vis_runq0, i_vis_run_next0,
  i_vis_runq1, i_vis_run_next1, i_vis_lock, i_respin, i_role_lock, i_role_read,
  i_role_publish, i_reread, i_republish, i_sleep, i_sleeping, i_woke,
  // retire (procs.cpp:108-141)
  r_stop_spin, r_drain_runq, r_drain_run_next, r_drain_push, r_global_size, r_lock,
  r_timers, r_sleeping,
  // stop_spinning (idle.cpp:112-118)
  s_entry,
  // notify_work, Go's wakep (idle.cpp:74-101)
  k_fence, k_idle, k_spinning, k_cas, k_lock, k_notify,
  // poke_sleeper (sleeper.cpp:61-87)
  p_lock, p_wake,
  // global_queue::push (global_queue.cpp): count, then enqueue
  q_count, q_enqueue,
  // the plain thread's operations
  a_next, a_arm_store, a_arm_load, a_procs_lock, a_procs_wake, a_done,
};

// One thread's registers. Every field is a byte: the state is hashed as bytes.
struct thread_state {
  std::uint8_t pc;
  std::uint8_t sp, ret[3];  // the return stack of subroutine calls
  std::uint8_t cur;         // the goroutine running here (a worker), or 0
  std::uint8_t got;         // the goroutine find_runnable / next_for_handoff found
  std::uint8_t arg;         // the goroutine being readied, or a timer's `when`
  std::uint8_t hand;        // drain_to_global's batch (a queue)
  std::uint8_t pushing;     // global_queue::push: counted, not yet enqueued (a queue)
  std::uint8_t old;         // push_local's previous run_next
  std::uint8_t woke;        // notify_work / poke_sleeper: the worker to wake, + 1
  std::uint8_t val;         // go_idle: the deadline read; set_procs: workers to wake
  std::uint8_t deadline;    // go_idle's deadline (never: untimed)
  std::uint8_t last;        // find_runnable: this spin round is the last
  std::uint8_t spinning;    // worker::spinning (owner only)
  std::uint8_t token;       // worker::sleep (parker::token_)
  std::uint8_t in_idle_list, woken_spinning, retired;  // guarded by sched_mu_
  std::uint8_t aop;         // the plain thread: its next operation
  std::uint8_t buf_n, buf_cell[2], buf_val[2];  // the store buffer (weak mode)
};

struct state {
  std::uint8_t mem[n_cells];
  std::uint8_t global[4];     // global_queue's goroutines, FIFO (the ConcurrentQueue)
  std::uint8_t global_n;
  std::int8_t global_count;   // global_queue::size_: counted before enqueued, uncounted after taken
  std::uint8_t mu;            // sched_mu_: 0 free, else holder + 1
  std::uint8_t idle[2], idle_n;  // scheduler::idle_ (LIFO)
  std::uint8_t timer_sleeper;    // scheduler::timer_sleeper_: worker + 1, or 0
  std::uint8_t n_retired;
  std::uint8_t item_pc[max_items];  // each goroutine's next operation
  std::uint8_t done[max_items];     // the goroutine exited
  thread_state t[n_threads];
};

// A local queue of up to two goroutines packed in a byte.
int q_len(std::uint8_t q) { return (q & 0xf) ? ((q >> 4) ? 2 : 1) : 0; }
std::uint8_t q_push(std::uint8_t q, std::uint8_t g) {
  if (q_len(q) == 2) throw std::logic_error("model bug: a local queue of more than two");
  return static_cast<std::uint8_t>(q_len(q) == 0 ? g : (q | (g << 4)));
}
std::uint8_t q_pop(std::uint8_t& q) {
  std::uint8_t g = q & 0xf;
  q = static_cast<std::uint8_t>(q >> 4);
  return g;
}

// state_set: the visited states, stored flat (no allocation per state, which
// matters under the sanitizers), in an open-addressing table of indices.
class state_set {
 public:
  state_set() : slots_(1u << 16, empty) {}
  std::size_t size() const { return states_.size(); }
  // insert: false if s was already there.
  bool insert(const state& s) {
    if (2 * (states_.size() + 1) > slots_.size()) grow();
    std::size_t i = find(s);
    if (slots_[i] != empty) return false;
    slots_[i] = static_cast<std::uint32_t>(states_.size());
    states_.push_back(s);
    return true;
  }

 private:
  static constexpr std::uint32_t empty = ~0u;
  static std::uint64_t hash(const state& s) {
    // FNV-1a over 8-byte words (a word at a time: fewer instrumented loads
    // under the sanitizers).
    unsigned char bytes[(sizeof s + 7) / 8 * 8] = {};
    std::memcpy(bytes, &s, sizeof s);
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i < sizeof bytes; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, bytes + i, 8);
      h = (h ^ w) * 0x100000001b3ULL;
      h ^= h >> 29;
    }
    return h;
  }
  // find: the slot holding s, or the empty slot where it goes.
  std::size_t find(const state& s) const {
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(s) & mask;; i = (i + 1) & mask)
      if (slots_[i] == empty || std::memcmp(&states_[slots_[i]], &s, sizeof s) == 0) return i;
  }
  void grow() {
    slots_.assign(slots_.size() * 2, empty);
    std::size_t mask = slots_.size() - 1;
    for (std::uint32_t k = 0; k < states_.size(); ++k) {
      std::size_t i = hash(states_[k]) & mask;
      while (slots_[i] != empty) i = (i + 1) & mask;
      slots_[i] = k;
    }
  }
  std::vector<state> states_;
  std::vector<std::uint32_t> slots_;
};

// ---- scenarios and variants -----------------------------------------------

// A goroutine's program: what it does each time it runs.
struct op {
  enum kind_t : std::uint8_t { forever, exit, ready, yield } kind;
  std::uint8_t arg = 0;  // ready: the goroutine
};
// The plain thread's program.
struct act {
  enum kind_t : std::uint8_t { ready, arm, procs } kind;
  std::uint8_t arg;  // ready: the goroutine; arm: `when`; procs: n
};

struct variant {
  const char* name = "today";
  bool weak = false;                  // the memory model (see the top)
  // Mutations, each breaking one step:
  bool old_yield = false;             // after_switch's yield with no wake (before issue 15)
  bool no_recheck = false;            // go_idle sleeps without work_visible()
  bool no_last_spinner_wake = false;  // stop_spinning without its notify_work
  bool no_retire_wake = false;        // retire without its notify_work for the global queue
  bool no_retire_timer_wake = false;  // retire without its notify_work for armed timers
  bool count_after_enqueue = false;   // global_queue::push counts after its enqueue (before issue 21's fix)
  bool sleep_on_failed_take = false;  // go_idle's recheck takes from the global queue, not size()
  // The fixes, adopted in lib/ (see the tests at the bottom):
  // ready() from a worker orders its run_next store before its loads (lib/
  // makes the exchange and the loads seq_cst, which this fence models).
  bool ready_worker_fence = true;
  bool unspin_under_lock = true;      // notify_work, finding nobody idle: uncount under sched_mu_
  bool batch_wake = true;             // try_global_batch wakes a worker after queueing a batch
};

struct scenario {
  const char* name;
  std::vector<op> prog[max_items];  // per goroutine
  std::vector<act> actor_prog;
  std::uint8_t running[n_workers] = {0, 0};  // a goroutine each worker starts running
  std::uint8_t procs = 2;
  std::uint8_t next_deadline = never;
};

struct result {
  bool release_stores = false;  // a release/acq_rel store was reached (see weak)
  std::size_t states = 0;
  std::size_t terminal = 0;
  bool violated = false;
  std::string why;
  std::string trace;
};

// ---- the checker ------------------------------------------------------------

class checker {
 public:
  checker(const scenario& sc, const variant& v) : sc_(sc), v_(v) {}

  // A step of a replayed schedule: run thread `tid` until it reaches `until`
  // (its spin rounds last iff `last_round`).
  struct leg {
    int tid;
    pc until;
    bool last_round;
  };

  // replay runs one interleaving: the legs in order, then every thread
  // round-robin (last spin rounds) until none can move; reports the final
  // state as run() would, with the whole trace. Deterministic.
  result replay(const std::vector<leg>& legs) {
    state s = initial();
    for (const leg& l : legs) {
      for (int n = 0; s.t[l.tid].pc != l.until; ++n) {
        if (n == 200 || !enabled(s, l.tid)) {
          res_.why = "replay: thread cannot reach its target";
          return res_;
        }
        step(s, l.tid, replay_choice(s, l.tid, l.last_round));
        path_.push_back({l.tid, label_});
      }
    }
    for (int n = 0; n < 10000; ++n) {
      bool moved = false;
      for (int t = 0; t < n_threads; ++t) {
        if (s.t[t].buf_n > 0) flush(s, t);
        if (!enabled(s, t)) continue;
        step(s, t, replay_choice(s, t, true));
        path_.push_back({t, label_});
        moved = true;
      }
      if (!moved) break;
    }
    res_.terminal = 1;
    report(s, check_terminal(s));
    return res_;
  }

  result run() {
    state s = initial();
    dfs(s);
    res_.states = visited_.size();
    return res_;
  }

 private:
  state initial() const {
    state s;
    std::memset(&s, 0, sizeof s);
    s.mem[sleeper_deadline] = never;
    s.mem[next_deadline] = sc_.next_deadline;
    s.mem[nprocs] = sc_.procs;
    for (int w = 0; w < n_workers; ++w) {
      s.t[w].pc = sc_.running[w] ? g_next_op : f_top;
      s.t[w].cur = sc_.running[w];
      s.t[w].deadline = never;
    }
    s.t[actor].pc = a_next;
    s.t[actor].deadline = never;
    return s;
  }

  // replay_choice: a replayed take takes its whole share; f_steal's
  // `last` is the leg's.
  int replay_choice(const state& s, int t, bool last_round) const {
    const auto p = static_cast<pc>(s.t[t].pc);
    if (p == f_global_take || p == f_spin_global_take) return choices(s, t) - 1;
    return last_round ? 1 : 0;
  }

  struct step_label {
    int tid;
    const char* what;
  };

  const scenario& sc_;
  const variant& v_;
  state_set visited_;
  std::vector<step_label> path_;
  result res_;
  const char* label_ = "";  // what the last step did

  // ---- memory -------------------------------------------------------------

  // load: the thread's own buffered store of c if any (newest), else memory.
  static std::uint8_t load(const state& s, int t, cell c) {
    const thread_state& th = s.t[t];
    for (int i = th.buf_n - 1; i >= 0; --i)
      if (th.buf_cell[i] == c) return th.buf_val[i];
    return s.mem[c];
  }
  static void flush_one(state& s, int t) {
    thread_state& th = s.t[t];
    s.mem[th.buf_cell[0]] = th.buf_val[0];
    th.buf_cell[0] = th.buf_cell[1];
    th.buf_val[0] = th.buf_val[1];
    th.buf_cell[1] = th.buf_val[1] = 0;
    --th.buf_n;
  }
  static void flush(state& s, int t) {
    while (s.t[t].buf_n > 0) flush_one(s, t);
  }
  // store: a release/acq_rel store (buffered in weak mode) or any other
  // store (earlier buffered stores of this thread become visible first).
  void store(state& s, int t, cell c, std::uint8_t v, bool release_only) {
    thread_state& th = s.t[t];
    if (release_only) res_.release_stores = true;
    if (v_.weak && release_only && th.buf_n < 2) {
      th.buf_cell[th.buf_n] = c;
      th.buf_val[th.buf_n] = v;
      ++th.buf_n;
      return;
    }
    flush(s, t);
    s.mem[c] = v;
  }
  // pending_elsewhere: another thread has a buffered store of c.
  static bool pending_elsewhere(const state& s, int t, cell c) {
    for (int o = 0; o < n_threads; ++o) {
      if (o == t) continue;
      for (int i = 0; i < s.t[o].buf_n; ++i)
        if (s.t[o].buf_cell[i] == c) return true;
    }
    return false;
  }

  // The global queue (global_queue.{hpp,cpp}): moodycamel::ConcurrentQueue
  // and a separate seq_cst count, size_. push counts its goroutines (one
  // seq_cst fetch_add) and then enqueues them (one step: an explicit
  // producer publishes a bulk enqueue with one tail store); pop_share reads
  // size(), dequeues, and then uncounts what it took (seq_cst fetch_sub). So
  // size() is never below the number queued, and a take may come back with
  // fewer than it asked, or none, while size() > 0: the model lets every
  // take take any number from none to what is there (up to its share),
  // which covers a push still in flight, another taker's optimistic count
  // and a stale tail read alike. Order across pushers is not modelled (it
  // decides who runs first, never whether anyone wakes).
  static int global_size(const state& s) { return s.global_count > 0 ? s.global_count : 0; }
  static void push_global(state& s, int t, std::uint8_t g) {
    s.t[t].pushing = q_push(s.t[t].pushing, g);
  }
  // global_push: th.pushing goes to the global queue, then the thread goes
  // on at `back`.
  void global_push(thread_state& th, pc back) {
    th.pc = back;
    call(th, v_.count_after_enqueue ? q_enqueue : q_count, back);
  }
  // pop_share's share (worker_loop.cpp:47-51, global_queue.cpp):
  // min(size/procs + 1, size).
  static std::uint8_t share(const state& s) {
    int size = global_size(s);
    int n = size / s.mem[nprocs] + 1;
    return static_cast<std::uint8_t>(n > size ? size : n);
  }
  // choices for a take: none up to min(share, queued).
  static int take_choices(const state& s, int t) {
    int n = s.t[t].val;
    if (n > s.global_n) n = s.global_n;
    return n + 1;
  }
  // global_take moves the n oldest goroutines into the taker's hands: the
  // first is returned, the rest stay there until f_global_batch queues them
  // locally; f_global_uncount then uncounts them.
  static void global_take(state& s, int t, int n) {
    thread_state& th = s.t[t];
    th.got = s.global[0];
    for (int i = 1; i < n; ++i) th.hand = q_push(th.hand, s.global[i]);
    for (int i = n; i < s.global_n; ++i) s.global[i - n] = s.global[i];
    for (int i = s.global_n - n; i < s.global_n; ++i) s.global[i] = 0;
    s.global_n = static_cast<std::uint8_t>(s.global_n - n);
    th.val = static_cast<std::uint8_t>(n);  // for f_global_uncount
  }
  static void idle_erase(state& s, int w) {
    int j = 0;
    for (int i = 0; i < s.idle_n; ++i)
      if (s.idle[i] != w + 1) s.idle[j++] = s.idle[i];
    for (int i = j; i < 2; ++i) s.idle[i] = 0;
    s.idle_n = static_cast<std::uint8_t>(j);
  }
  // leave_idle_list (idle.cpp:130-136), under sched_mu_.
  static void leave_idle_list(state& s, int w) {
    if (!s.t[w].in_idle_list) return;
    idle_erase(s, w);
    s.t[w].in_idle_list = 0;
    --s.mem[n_idle];
  }

  // ---- control flow -------------------------------------------------------

  static void call(thread_state& th, pc sub, pc back) {
    th.ret[th.sp++] = back;
    th.pc = sub;
  }
  static void ret(thread_state& th) { th.pc = th.ret[--th.sp]; }

  // The pcs that run a sched_mu_ critical section as one step.
  static bool needs_lock(pc p) {
    switch (p) {
      case i_join: case i_vis_lock: case i_role_lock: case i_republish: case i_woke:
      case r_lock: case k_lock: case p_lock: case a_procs_lock:
        return true;
      default:
        return false;
    }
  }

  bool enabled(const state& s, int t) const {
    const thread_state& th = s.t[t];
    auto p = static_cast<pc>(th.pc);
    if (needs_lock(p) && s.mu != 0) return false;
    switch (p) {
      case busy_forever: case a_done: return false;
      case i_sleeping: case r_sleeping: return th.token != 0;
      case f_steal: return !pending_elsewhere(s, t, static_cast<cell>(runq0 + (1 - t)));
      case f_steal_run_next:
        return !pending_elsewhere(s, t, static_cast<cell>(run_next0 + (1 - t)));
      default: return true;
    }
  }
  // choices: f_steal's `last`; a take's count (none up to its share).
  int choices(const state& s, int t) const {
    switch (s.t[t].pc) {
      case f_steal: return 2;
      case f_global_take: case f_spin_global_take: return take_choices(s, t);
      case i_vis_global: return v_.sleep_on_failed_take && s.global_n > 0 ? 2 : 1;
      default: return 1;
    }
  }

  // Steps that store nothing to shared memory, or store only through the
  // store buffer (or flush it themselves when they do store): the others
  // flush the thread's buffered stores first (a store buffer is FIFO).
  static bool no_plain_store(pc p) {
    switch (p) {
      case f_top: case f_global_size: case f_global_pop: case f_steal: case f_steal_run_next:
      case f_spin_global_size: case f_spin_global_pop: case f_global_batch: case f_found: case s_entry: case f_execute:
      case g_next_op: case busy_forever: case rw_nprocs: case rw_push: case rw_push_old:
      case rw_load_idle: case rw_load_spinning: case y_nprocs: case y_switch: case i_global_size:
      case i_vis_global: case i_vis_runq0: case i_vis_run_next0: case i_vis_runq1:
      case i_vis_run_next1: case i_role_read: case i_reread: case i_sleep: case k_idle:
      case k_spinning: case r_global_size: case r_timers: case a_next: case a_arm_load: case a_done:
        return true;
      default:
        return false;
    }
  }

  // step runs thread t's next step (choice: f_steal's `last`, a take's
  // count) and sets label_.
  void step(state& s, int t, int choice) {
    thread_state& th = s.t[t];
    if (!no_plain_store(static_cast<pc>(th.pc))) flush(s, t);
    const int other = 1 - t;  // the other worker (workers only)
    const cell my_rn = static_cast<cell>(run_next0 + (t & 1));
    const cell my_q = static_cast<cell>(runq0 + (t & 1));
    switch (static_cast<pc>(th.pc)) {
      // ---- find_runnable ----------------------------------------------------
      case f_top:
        label_ = "find_runnable: nprocs_.load(); retire if index >= it (worker_loop.cpp:104)";
        th.pc = t >= s.mem[nprocs] ? r_stop_spin : f_run_next;
        break;
      case f_run_next: {
        label_ = "try_local: run_next.exchange(nullptr) (worker_loop.cpp:42)";
        std::uint8_t g = load(s, t, my_rn);
        store(s, t, my_rn, 0, false);
        th.got = g;
        th.pc = g ? f_found : f_runq;
        break;
      }
      case f_runq: {
        label_ = "try_local: runq.pop() (worker_loop.cpp:48)";
        std::uint8_t q = load(s, t, my_q);
        th.got = q_pop(q);
        store(s, t, my_q, q, false);
        th.pc = th.got ? f_found : f_global_size;
        break;
      }
      case f_global_size:
        label_ = "try_global: global_.size(); nothing if 0 (worker_loop.cpp:53, from 119)";
        th.pc = global_size(s) ? f_global_pop : f_spin_start;
        break;
      case f_global_pop:
        label_ = "try_global_batch -> pop_share: size(); share = min(size/procs + 1, size); "
                 "nothing if 0 (global_queue.cpp)";
        th.val = share(s);
        th.pc = th.val ? f_global_take : f_spin_start;
        break;
      case f_global_take:
        take(s, t, choice, f_spin_start);
        break;
      case f_spin_start:
        label_ = "find_runnable: spinning = true; n_spinning_.fetch_add (worker_loop.cpp:129-132)";
        if (!th.spinning) {
          th.spinning = 1;
          flush(s, t);
          ++s.mem[n_spinning];
        }
        th.pc = f_steal;
        break;
      case f_steal: {
        th.last = static_cast<std::uint8_t>(choice);
        label_ = choice
                     ? "try_steal(last round): victim runq.steal_into (worker_loop.cpp:139-140, 81)"
                     : "try_steal: victim runq.steal_into (worker_loop.cpp:139-140, 81)";
        cell vq = static_cast<cell>(runq0 + other);
        std::uint8_t q = s.mem[vq];
        int n = q_len(q);
        if (n > 0) {
          int take = n - n / 2;
          flush(s, t);
          th.got = q_pop(q);
          for (int i = 1; i < take; ++i)
            store(s, t, my_q, q_push(load(s, t, my_q), q_pop(q)), true);
          s.mem[vq] = q;
          th.pc = f_found;
        } else {
          th.pc = choice ? f_steal_run_next : f_spin_global_size;
        }
        break;
      }
      case f_steal_run_next: {
        label_ = "try_steal: victim run_next.exchange(nullptr) (worker_loop.cpp:85-86)";
        cell vr = static_cast<cell>(run_next0 + other);
        th.got = s.mem[vr];
        if (th.got) {
          flush(s, t);
          s.mem[vr] = 0;
        }
        th.pc = th.got ? f_found : f_spin_global_size;
        break;
      }
      case f_spin_global_size:
        label_ = "spin: try_global: global_.size() (worker_loop.cpp:141, 53)";
        th.pc = global_size(s) ? f_spin_global_pop : th.last ? i_global_size : f_steal;
        break;
      case f_spin_global_pop:
        label_ = "spin: try_global_batch -> pop_share: size(); share = min(size/procs + 1, "
                 "size); nothing if 0 (global_queue.cpp)";
        th.val = share(s);
        th.pc = th.val ? f_spin_global_take : th.last ? i_global_size : f_steal;
        break;
      case f_spin_global_take:
        take(s, t, choice, th.last ? i_global_size : f_steal);
        break;
      case f_global_uncount:
        label_ = "pop_share: size_.fetch_sub(taken), seq_cst, after the dequeue (global_queue.cpp)";
        flush(s, t);
        s.global_count = static_cast<std::int8_t>(s.global_count - th.val);
        th.val = 0;
        th.pc = th.hand ? f_global_batch : f_found;
        break;
      case f_global_batch:
        label_ = v_.batch_wake
                     ? "try_global_batch: runq.push the rest of the batch; then notify_work (the "
                         "proposed fix)"
                     : "try_global_batch: runq.push the rest of the batch (worker_loop.cpp:70)";
        while (th.hand) store(s, t, my_q, q_push(load(s, t, my_q), q_pop(th.hand)), true);
        th.pc = f_found;
        if (v_.batch_wake) call(th, k_fence, f_found);
        break;
      case f_found:
        label_ = "find_runnable found work: stop_spinning (worker_loop.cpp:116/120/155)";
        th.last = 0;
        call(th, s_entry, f_execute);
        step_inline(s, t);
        break;
      case f_execute:
        label_ = "execute: switch to the goroutine (switch.cpp:42)";
        th.cur = th.got;
        th.got = 0;
        th.pc = g_next_op;
        break;

      // ---- the running goroutine's program ----------------------------------
      case g_next_op: {
        const op& o = sc_.prog[th.cur][s.item_pc[th.cur]];
        switch (o.kind) {
          case op::forever:
            label_ = "the goroutine runs on and never yields";
            th.pc = busy_forever;
            break;
          case op::exit:
            label_ = "the goroutine exits (after_switch, exit: switch.cpp:69)";
            s.done[th.cur] = 1;
            th.cur = 0;
            th.pc = f_top;
            break;
          case op::ready:
            label_ = "the goroutine calls ready()";
            ++s.item_pc[th.cur];
            th.arg = o.arg;
            th.pc = rw_nprocs;
            break;
          case op::yield:
            label_ = "the goroutine yields: switch_away(yield) (switch.cpp:144)";
            ++s.item_pc[th.cur];
            th.pc = y_nprocs;
            break;
        }
        break;
      }
      case busy_forever: break;

      // ---- ready() from a worker ------------------------------------------------
      case rw_nprocs:
        label_ = "ready: w->index < nprocs_.load (scheduler.cpp:131)";
        if (t < s.mem[nprocs]) {
          th.pc = rw_push;
        } else {
          th.pc = g_next_op;
          call(th, rp_push, g_next_op);
        }
        break;
      case rw_push:
        label_ = "ready -> push_local: run_next.exchange(g), acq_rel (scheduler.cpp:135, 164)";
        th.old = load(s, t, my_rn);
        store(s, t, my_rn, th.arg, true);
        th.pc = th.old ? rw_push_old : v_.ready_worker_fence ? rw_fence : rw_load_idle;
        break;
      case rw_push_old:
        label_ = "push_local: runq.push(old), release (scheduler.cpp:165)";
        store(s, t, my_q, q_push(load(s, t, my_q), th.old), true);
        th.old = 0;
        th.pc = v_.ready_worker_fence ? rw_fence : rw_load_idle;
        break;
      case rw_fence:
        label_ = "ready: seq_cst fence (the proposed fix for issue 15 finding 2)";
        flush(s, t);
        th.pc = rw_load_idle;
        break;
      case rw_load_idle:
        // scheduler.cpp:141 (current == nullptr && old == nullptr) does not
        // apply: a goroutine is running.
        label_ = "ready -> notify_local_work: n_idle_.load(relaxed); no wake if 0 "
                 "(scheduler.cpp:142, scheduler.hpp:301)";
        th.pc = load(s, t, n_idle) > 0 ? rw_load_spinning : g_next_op;
        break;
      case rw_load_spinning:
        label_ = "notify_local_work: n_spinning_.load(relaxed); notify_work if 0 "
                 "(scheduler.hpp:301-302)";
        th.pc = g_next_op;
        if (load(s, t, n_spinning) == 0) call(th, k_fence, g_next_op);
        break;

      // ---- ready() from a plain thread (or a worker past gomaxprocs) ------------
      case rp_push:
        label_ = "ready: global_push(g) (scheduler.cpp:153)";
        push_global(s, t, th.arg);
        global_push(th, k_fence);  // then a tail call: notify_work (scheduler.cpp:156)
        break;

      // ---- a yield ---------------------------------------------------------------
      case y_nprocs:
        label_ = "next_for_handoff: w->index >= nprocs_.load (switch.cpp:136)";
        th.got = 0;
        th.pc = t >= s.mem[nprocs] ? y_push : y_run_next;
        break;
      case y_run_next: {
        label_ = "next_for_handoff -> try_local: run_next.exchange(nullptr) (switch.cpp:139, "
            "393)";
        th.got = load(s, t, my_rn);
        store(s, t, my_rn, 0, false);
        th.pc = th.got ? y_push : y_runq;
        break;
      }
      case y_runq: {
        label_ = "next_for_handoff -> try_local: runq.pop() (switch.cpp:139, worker_loop.cpp:48)";
        std::uint8_t q = load(s, t, my_q);
        th.got = q_pop(q);
        store(s, t, my_q, q, false);
        th.pc = y_push;
        break;
      }
      case y_push:
        if (v_.old_yield) {
          label_ = "after_switch(yield): global_push(g), no wake (before issue 15)";
          push_global(s, t, th.cur);
          th.cur = 0;
          th.pc = y_switch;
          global_push(th, static_cast<pc>(th.pc));
          break;
        }
        // The local queue when it has room, as switch.cpp's after_switch;
        // the model's queue holds two.
        if (q_len(load(s, t, my_q)) < 2) {
          label_ = "after_switch(yield): runq.push(g), release (switch.cpp:after_switch)";
          store(s, t, my_q, q_push(load(s, t, my_q), th.cur), true);
          th.cur = 0;
          call(th, k_fence, y_switch);  // notify_work
          break;
        }
        label_ = "after_switch(yield): the local queue is full: global_push(g) (switch.cpp:after_switch)";
        push_global(s, t, th.cur);
        th.cur = 0;
        th.pc = y_switch;
        call(th, k_fence, y_switch);  // notify_work
        global_push(th, static_cast<pc>(th.pc));
        break;
      case y_switch:
        label_ = th.got ? "the hand-off's goroutine runs (switch_away, switch.cpp:155-178)"
                        : "back to the scheduler loop (switch_away, switch.cpp:180)";
        th.cur = th.got;
        th.got = 0;
        th.pc = th.cur ? g_next_op : f_top;
        break;

      // ---- go_idle ---------------------------------------------------------------
      case i_global_size:
        // check_timers(full) (idle.cpp:140) finds nothing due: time does not pass.
        label_ = "go_idle: global_.size(); back to find_runnable if not 0 (idle.cpp:141)";
        th.last = 0;
        th.pc = global_size(s) ? f_top : i_unspin;
        break;
      case i_unspin:
        label_ = "go_idle: spinning = false; n_spinning_.fetch_sub (idle.cpp:147-150)";
        if (th.spinning) {
          th.spinning = 0;
          flush(s, t);
          --s.mem[n_spinning];
        }
        th.pc = i_join;
        break;
      case i_join:
        label_ = "go_idle: idle_.push_back; n_idle_.fetch_add, under sched_mu_ "
            "(idle.cpp:154-165)";
        flush(s, t);
        s.idle[s.idle_n++] = static_cast<std::uint8_t>(t + 1);
        th.in_idle_list = 1;
        ++s.mem[n_idle];
        th.pc = i_fence;
        break;
      case i_fence:
        label_ = "go_idle: seq_cst fence (idle.cpp:168)";
        flush(s, t);
        th.pc = v_.no_recheck ? i_role_lock : i_vis_global;
        break;
      case i_vis_global:
        if (v_.sleep_on_failed_take) {
          // The mutation: a take, which may fail while goroutines are queued.
          label_ = choice ? "go_idle -> work_visible: a take from the global queue gets one"
                          : "go_idle -> work_visible: a take from the global queue fails";
          th.pc = s.global_n > 0 && choice ? i_vis_lock : i_vis_runq0;
          break;
        }
        label_ = "go_idle -> work_visible: global_.size() (idle.cpp:169, 121)";
        th.pc = global_size(s) ? i_vis_lock : i_vis_runq0;
        break;
      case i_vis_runq0:
        label_ = "work_visible: W0 runq.empty() (idle.cpp:125)";
        th.pc = q_len(load(s, t, runq0)) ? i_vis_lock : i_vis_run_next0;
        break;
      case i_vis_run_next0:
        label_ = "work_visible: W0 run_next.load (idle.cpp:125)";
        th.pc = load(s, t, run_next0) ? i_vis_lock : i_vis_runq1;
        break;
      case i_vis_runq1:
        label_ = "work_visible: W1 runq.empty() (idle.cpp:125)";
        th.pc = q_len(load(s, t, runq1)) ? i_vis_lock : i_vis_run_next1;
        break;
      case i_vis_run_next1:
        // check_deadlock (idle.cpp:180-185) is not modelled.
        label_ = "work_visible: W1 run_next.load (idle.cpp:125)";
        th.pc = load(s, t, run_next1) ? i_vis_lock : i_role_lock;
        break;
      case i_vis_lock:
        label_ = "go_idle: work visible; leave the idle list unless a waker took us, under "
            "sched_mu_ (idle.cpp:170-179)";
        if (th.in_idle_list) {
          flush(s, t);
          leave_idle_list(s, t);
          th.pc = i_respin;
        } else {
          th.pc = i_role_lock;
        }
        break;
      case i_respin:
        label_ = "go_idle: spinning = true; n_spinning_.fetch_add (idle.cpp:174-175)";
        th.spinning = 1;
        flush(s, t);
        ++s.mem[n_spinning];
        th.pc = f_top;
        break;
      case i_role_lock:
        label_ = "go_idle: lock sched_mu_; take the timer-sleeper role if free "
            "(idle.cpp:190-197)";
        th.deadline = never;
        if (th.in_idle_list && s.timer_sleeper == 0) {
          s.mu = static_cast<std::uint8_t>(t + 1);
          s.timer_sleeper = static_cast<std::uint8_t>(t + 1);
          th.pc = i_role_read;
        } else {
          th.pc = i_sleep;
        }
        break;
      case i_role_read:
        label_ = "go_idle: timer_next_deadline.load, sched_mu_ held (idle.cpp:206)";
        th.val = s.mem[next_deadline];
        th.pc = i_role_publish;
        break;
      case i_role_publish:
        label_ = "go_idle: sleeper_deadline_.store; unlock sched_mu_ (idle.cpp:206-209)";
        flush(s, t);
        s.mem[sleeper_deadline] = th.val;
        s.mu = 0;
        th.pc = i_reread;
        break;
      case i_reread:
        label_ = "go_idle: deadline = timer_next_deadline.load (idle.cpp:218)";
        th.deadline = s.mem[next_deadline];
        th.pc = i_republish;
        break;
      case i_republish:
        label_ = "go_idle: if still the sleeper, sleeper_deadline_.store(deadline), under "
            "sched_mu_ (idle.cpp:219-220)";
        if (s.timer_sleeper == t + 1) {
          flush(s, t);
          s.mem[sleeper_deadline] = th.deadline;
        }
        th.pc = i_sleep;
        break;
      case i_sleep:
        label_ = th.deadline == never ? "go_idle: sleep.wait() (idle.cpp:227)"
                                      : "go_idle: sleep.wait_until(deadline) (idle.cpp:229)";
        th.pc = i_sleeping;
        break;
      case i_sleeping:
        label_ = "parker: token_.exchange(0) sees the token: awake (parker.cpp:10/16)";
        th.token = 0;
        th.pc = i_woke;
        break;
      case i_woke:
        label_ = "go_idle: woken; drop the role; spinning if the waker counted us, else leave "
            "the idle list, under sched_mu_ (idle.cpp:232-256)";
        flush(s, t);
        if (s.timer_sleeper == t + 1) {
          s.timer_sleeper = 0;
          s.mem[sleeper_deadline] = never;
        }
        if (th.woken_spinning) {
          th.woken_spinning = 0;
          th.spinning = 1;
        } else {
          leave_idle_list(s, t);
        }
        th.deadline = never;
        th.pc = f_top;
        break;

      // ---- retire ------------------------------------------------------------------
      case r_stop_spin:
        label_ = "retire: stop_spinning (procs.cpp:109)";
        call(th, s_entry, r_drain_runq);
        step_inline(s, t);
        break;
      case r_drain_runq: {
        label_ = "retire -> drain_to_global: runq.pop() (procs.cpp:112, scheduler.cpp:178)";
        std::uint8_t q = load(s, t, my_q);
        std::uint8_t g = q_pop(q);
        if (g) {
          store(s, t, my_q, q, false);
          th.hand = q_push(th.hand, g);
        } else {
          th.pc = r_drain_run_next;
        }
        break;
      }
      case r_drain_run_next: {
        label_ = "drain_to_global: run_next.exchange(nullptr) (scheduler.cpp:179)";
        std::uint8_t g = load(s, t, my_rn);
        store(s, t, my_rn, 0, false);
        if (g) th.hand = q_push(th.hand, g);
        th.pc = r_drain_push;
        break;
      }
      case r_drain_push:
        label_ = "drain_to_global: global_push_batch (scheduler.cpp:180)";
        th.pc = v_.no_retire_wake ? r_lock : r_global_size;
        if (th.hand) {  // if (n > 0)
          th.pushing = th.hand;
          th.hand = 0;
          global_push(th, static_cast<pc>(th.pc));
        }
        break;
      case r_global_size:
        label_ = "retire: global_.size(); notify_work if not 0 (procs.cpp:119-120)";
        th.pc = r_lock;
        if (global_size(s)) call(th, k_fence, r_lock);
        break;
      case r_lock:
        label_ = "retire: unless raised again, retired = true, under sched_mu_ "
            "(procs.cpp:123-131)";
        if (t < s.mem[nprocs]) {
          th.pc = f_top;
          break;
        }
        if (!th.retired) {
          th.retired = 1;
          ++s.n_retired;
        }
        th.pc = r_timers;
        break;
      case r_timers:
        // check_deadlock (procs.cpp:132-134) is not modelled.
        label_ = "retire: timer_next_deadline.load != never: notify_work (procs.cpp:138-139); "
            "then sleep.wait() (140)";
        th.pc = r_sleeping;
        if (s.mem[next_deadline] != never && !v_.no_retire_timer_wake)
          call(th, k_fence, r_sleeping);
        break;
      case r_sleeping:
        label_ = "retire: parker token seen: awake (procs.cpp:140)";
        th.token = 0;
        th.pc = f_top;
        break;

      // ---- stop_spinning --------------------------------------------------------
      case s_entry:
        label_ = "stop_spinning: spinning = false; n_spinning_.fetch_sub (idle.cpp:113-117)";
        if (!th.spinning) {
          ret(th);
          break;
        }
        th.spinning = 0;
        flush(s, t);
        if (s.mem[n_spinning]-- == 1 && !v_.no_last_spinner_wake) th.pc = k_fence;  // notify_work
        else ret(th);
        break;

      // ---- notify_work --------------------------------------------------------------
      case k_fence:
        label_ = "notify_work: seq_cst fence (idle.cpp:75)";
        flush(s, t);
        th.pc = k_idle;
        break;
      case k_idle:
        label_ = "notify_work: n_idle_.load(); return if 0 (idle.cpp:76)";
        if (s.mem[n_idle] == 0) ret(th);
        else th.pc = k_spinning;
        break;
      case k_spinning:
        label_ = "notify_work: n_spinning_.load(); return if not 0 (idle.cpp:77)";
        if (s.mem[n_spinning] != 0) ret(th);
        else th.pc = k_cas;
        break;
      case k_cas:
        label_ = "notify_work: n_spinning_.compare_exchange(0, 1); return if it fails "
            "(idle.cpp:81)";
        if (s.mem[n_spinning] != 0) {
          ret(th);
        } else {
          s.mem[n_spinning] = 1;
          th.pc = k_lock;
        }
        break;
      case k_lock:
        label_ = "notify_work: pop the newest idle worker, woken_spinning, n_idle_.fetch_sub, "
                 "under sched_mu_ (idle.cpp:85-95)";
        th.woke = 0;
        if (s.idle_n > 0) {
          int w = s.idle[--s.idle_n] - 1;
          s.idle[s.idle_n] = 0;
          s.t[w].in_idle_list = 0;
          s.t[w].woken_spinning = 1;
          --s.mem[n_idle];
          th.woke = static_cast<std::uint8_t>(w + 1);
        } else if (v_.unspin_under_lock) {
          --s.mem[n_spinning];  // the fix: as Go's wakep, before sched_mu_ is released
          ret(th);
          break;
        }
        th.pc = k_notify;
        break;
      case k_notify:
        if (th.woke == 0) {
          label_ = "notify_work: nobody idle after all: n_spinning_.fetch_sub (idle.cpp:96-98)";
          --s.mem[n_spinning];
        } else {
          label_ = "notify_work -> wake_worker -> parker::notify "
                   "(idle.cpp:100, 109, parker.cpp:28)";
          s.t[th.woke - 1].token = 1;
          th.woke = 0;
        }
        ret(th);
        break;

      // ---- poke_sleeper --------------------------------------------------------
      case p_lock:
        label_ = "poke_sleeper: take the sleeper out of its role; sleeper_deadline_ = never, "
            "under sched_mu_ (sleeper.cpp:65-78)";
        th.woke = 0;
        if (s.timer_sleeper) {
          th.woke = s.timer_sleeper;
          s.timer_sleeper = 0;
          flush(s, t);
          s.mem[sleeper_deadline] = never;
        }
        th.pc = p_wake;
        break;
      case p_wake:
        if (th.woke) {
          label_ = "poke_sleeper -> wake_worker: notify the sleeper (sleeper.cpp:80-81)";
          s.t[th.woke - 1].token = 1;
          th.woke = 0;
          ret(th);
        } else {
          label_ = "poke_sleeper: no sleeper: notify_work (sleeper.cpp:86)";
          th.pc = k_fence;
        }
        break;

      // ---- global_queue::push -----------------------------------------------------
      case q_count:
        label_ = v_.count_after_enqueue
                     ? "global_queue::push: size_.fetch_add(n), seq_cst, after the enqueue (before "
                       "issue 21's fix)"
                     : "global_queue::push: size_.fetch_add(n), seq_cst, before the enqueue "
                       "(global_queue.cpp)";
        flush(s, t);
        if (v_.count_after_enqueue) {
          s.global_count = static_cast<std::int8_t>(s.global_count + th.val);
          th.val = 0;
          ret(th);
        } else {
          s.global_count = static_cast<std::int8_t>(s.global_count + q_len(th.pushing));
          th.pc = q_enqueue;
        }
        break;
      case q_enqueue:
        label_ = "global_queue::push: the ConcurrentQueue enqueue (global_queue.cpp)";
        if (s.global_n + q_len(th.pushing) > static_cast<int>(sizeof s.global))
          throw std::logic_error("model bug: a global queue of more than four");
        th.val = static_cast<std::uint8_t>(q_len(th.pushing));
        while (th.pushing) s.global[s.global_n++] = q_pop(th.pushing);
        if (v_.count_after_enqueue) {
          th.pc = q_count;
        } else {
          th.val = 0;
          ret(th);
        }
        break;

      // ---- the plain thread --------------------------------------------------------
      case a_next: {
        if (th.aop == static_cast<int>(sc_.actor_prog.size())) {
          label_ = "the plain thread is done";
          th.pc = a_done;
          break;
        }
        const act& a = sc_.actor_prog[th.aop++];
        th.arg = a.arg;
        switch (a.kind) {
          case act::ready:
            label_ = "the plain thread calls ready()";
            call(th, rp_push, a_next);
            break;
          case act::arm:
            label_ = "the plain thread arms a timer (timer_arm, timer_heap.cpp:113-128)";
            th.pc = a_arm_store;
            break;
          case act::procs:
            label_ = "the plain thread calls set_procs (procs.cpp:75)";
            th.pc = a_procs_lock;
            break;
        }
        break;
      }
      case a_arm_store:
        label_ = "timer_heap::publish: timer_next_deadline.store(when), seq_cst "
                 "(timer_heap.cpp:69)";
        flush(s, t);
        if (th.arg < s.mem[next_deadline]) s.mem[next_deadline] = th.arg;
        th.pc = a_arm_load;
        break;
      case a_arm_load:
        label_ = "timer_armed: when >= sleeper_deadline_.load: return, else poke_sleeper "
            "(sleeper.cpp:28-29)";
        th.pc = a_next;
        if (th.arg < s.mem[sleeper_deadline]) call(th, p_lock, a_next);
        break;
      case a_procs_lock:
        label_ = "set_procs: nprocs_.store(n); take workers >= n off the idle list, under "
            "sched_mu_ (procs.cpp:83-101)";
        flush(s, t);
        s.mem[nprocs] = th.arg;
        th.val = 0;
        for (int w = 0; w < n_workers; ++w) {
          if (w < th.arg && s.t[w].retired) {
            s.t[w].retired = 0;
            --s.n_retired;
            th.val = static_cast<std::uint8_t>(th.val | (1 << w));
          } else if (w >= th.arg && s.t[w].in_idle_list) {
            leave_idle_list(s, w);
            th.val = static_cast<std::uint8_t>(th.val | (1 << w));
          }
        }
        th.pc = a_procs_wake;
        break;
      case a_procs_wake:
        label_ = "set_procs: wake_worker for each (procs.cpp:103)";
        for (int w = 0; w < n_workers; ++w)
          if (th.val & (1 << w)) s.t[w].token = 1;
        th.val = 0;
        th.pc = a_next;
        break;
      case a_done: break;
    }
  }

  // step_inline: f_found and r_stop_spin only push a call; run its first
  // step in the same step (stop_spinning's first action is thread-local
  // or its seq_cst fetch_sub, one access).
  void step_inline(state& s, int t) {
    const char* outer = label_;
    step(s, t, 0);
    label_ = outer;
  }

  // take: pop_share's dequeue (global_queue.cpp) takes `choice` goroutines,
  // at most its share (th.val) and what is queued; none (the take fails,
  // though size() may say work) goes on at `none`.
  void take(state& s, int t, int choice, pc none) {
    thread_state& th = s.t[t];
    int n = choice;
    if (n > th.val) n = th.val;
    if (n > s.global_n) n = s.global_n;
    if (n == 0) {
      label_ = "pop_share: the dequeue takes nothing, whatever size() said (global_queue.cpp)";
      th.val = 0;
      th.pc = none;
      return;
    }
    label_ = "pop_share: the ConcurrentQueue dequeue takes its goroutines (global_queue.cpp)";
    global_take(s, t, n);
    th.pc = f_global_uncount;
  }

  // ---- the property ---------------------------------------------------------

  // check_terminal: no thread can take a step. Returns why the state
  // breaks the property, or empty.
  std::string check_terminal(const state& s) const {
    // Every goroutine in exactly one place.
    int where[max_items] = {};
    auto count = [&](std::uint8_t g) { if (g) ++where[g]; };
    for (int i = 0; i < s.global_n; ++i) count(s.global[i]);
    for (int t = 0; t < n_threads; ++t) {
      std::uint8_t p = s.t[t].pushing;
      while (p) count(q_pop(p));
    }
    if (s.global_count != s.global_n)
      return "model bug: the global queue's count is " + std::to_string(s.global_count) + " with " +
             std::to_string(s.global_n) + " queued";
    for (int w = 0; w < n_workers; ++w) {
      count(s.mem[run_next0 + w]);
      std::uint8_t q = s.mem[runq0 + w];
      while (q) count(q_pop(q));
      count(s.t[w].cur);
      count(s.t[w].got);
      std::uint8_t h = s.t[w].hand;
      while (h) count(q_pop(h));
    }
    for (int g = 1; g < max_items; ++g) {
      bool exists = !sc_.prog[g].empty();
      int n = where[g] + s.done[g];
      if (exists && n != 1)
        return "model bug: goroutine " + std::to_string(g) + " is in " + std::to_string(n) +
               " places";
    }
    int queued = s.global_n;
    for (int w = 0; w < n_workers; ++w)
      queued += q_len(s.mem[runq0 + w]) + (s.mem[run_next0 + w] != 0);
    int asleep = -1;
    bool timer_covered = false;
    for (int w = 0; w < n_workers; ++w) {
      if (s.t[w].pc != i_sleeping) continue;
      asleep = w;
      if (s.t[w].deadline <= s.mem[next_deadline]) timer_covered = true;
    }
    if (asleep < 0) return {};
    if (queued > 0)
      return "lost wake-up: " + std::to_string(queued) + " goroutine(s) queued while W" +
             std::to_string(asleep) + " sleeps in go_idle";
    if (s.mem[next_deadline] != never && !timer_covered)
      return "timer slept through: a timer is due at " + std::to_string(s.mem[next_deadline]) +
             " while W" + std::to_string(asleep) + " sleeps and no sleeper's deadline covers it";
    return {};
  }

  std::string describe(const state& s) const {
    std::ostringstream o;
    o << "  final state: global queue " << int(s.global_n) << " (size_ " << int(s.global_count)
      << ")";
    for (int w = 0; w < n_workers; ++w)
      o << ", W" << w << " run_next " << int(s.mem[run_next0 + w]) << " runq "
        << q_len(s.mem[runq0 + w]);
    o << ", n_idle " << int(s.mem[n_idle]) << ", n_spinning " << int(s.mem[n_spinning])
      << ", timer_next_deadline " << int(s.mem[next_deadline]) << ", sleeper_deadline "
      << int(s.mem[sleeper_deadline]) << "\n";
    return o.str();
  }

  // ---- the search -------------------------------------------------------------

  bool dfs(const state& s) {
    if (!visited_.insert(s)) return false;
    bool any = false;
    for (int t = 0; t < n_threads; ++t) {
      // A buffered store becoming visible (weak mode).
      if (s.t[t].buf_n > 0) {
        any = true;
        state n = s;
        flush_one(n, t);
        path_.push_back({t, "a buffered store becomes visible"});
        if (dfs(n)) return true;
        path_.pop_back();
      }
      if (!enabled(s, t)) continue;
      any = true;
      for (int c = 0; c < choices(s, t); ++c) {
        state n = s;
        step(n, t, c);
        path_.push_back({t, label_});
        if (dfs(n)) return true;
        path_.pop_back();
      }
    }
    if (any) return false;
    ++res_.terminal;
    return report(s, check_terminal(s));
  }

  // report records a violation (why non-empty) with the current path.
  bool report(const state& s, const std::string& why) {
    if (why.empty()) return false;
    res_.violated = true;
    res_.why = why;
    std::ostringstream o;
    o << sc_.name << " [" << v_.name << (v_.weak ? ", weak" : ", sc") << "]: " << why << "\n";
    for (std::size_t i = 0; i < path_.size(); ++i)
      o << "  " << i + 1 << ". " << (path_[i].tid == actor ? "A " : path_[i].tid == 0 ? "W0" : "W1")
        << ": " << path_[i].what << "\n";
    o << describe(s);
    res_.trace = o.str();
    return true;
  }
};

// ---- the scenarios ----------------------------------------------------------

// Goroutine ids used below.
constexpr std::uint8_t X = 1, H = 2, G1 = 3, G2 = 4, Y = 5, Z = 6;

// (a) ready() from a plain thread (global_push, notify_work) against two
// workers that run dry and go idle. The goroutine never yields.
scenario ready_vs_go_idle() {
  scenario s;
  s.name = "ready (plain thread) vs go_idle";
  s.prog[G1] = {{op::forever}};
  s.actor_prog = {{act::ready, G1}};
  return s;
}

// (a') ready() from a worker: goroutine Y on W0 readies G1 into W0's
// run_next and then never yields, while W1 runs dry.
scenario ready_from_worker_vs_go_idle() {
  scenario s;
  s.name = "ready (from a worker) vs go_idle";
  s.running[0] = Y;
  s.prog[Y] = {{op::ready, G1}, {op::forever}};
  s.prog[G1] = {{op::forever}};
  return s;
}

// (b) issue 15 finding 1: X, on W0, readies H (into W0's run_next) and
// yields; the hand-off runs H, which never yields, and X goes to the global
// queue. W1 runs dry meanwhile (and may be spinning when H is readied).
scenario yield_vs_go_idle() {
  scenario s;
  s.name = "yield vs go_idle (issue 15 finding 1)";
  s.running[0] = X;
  s.prog[X] = {{op::ready, H}, {op::yield}, {op::exit}};
  s.prog[H] = {{op::forever}};
  return s;
}

// (c) retire vs notify_work: Y, on W1, readies Z into W1's run_next and
// exits, while the plain thread lowers gomaxprocs to 1: W1 retires,
// draining Z to the global queue, as W0 runs dry.
scenario retire_vs_notify_work() {
  scenario s;
  s.name = "retire vs notify_work";
  s.running[1] = Y;
  s.prog[Y] = {{op::ready, Z}, {op::exit}};
  s.prog[Z] = {{op::forever}};
  s.actor_prog = {{act::procs, 1}};
  return s;
}

// (c') retire vs the timer-sleeper role: a timer is armed (at 5) and the
// plain thread lowers gomaxprocs to 1 as both workers go idle; if W1 took
// the role, set_procs wakes it to retire, and the role must pass to W0.
scenario retire_vs_timer_role() {
  scenario s;
  s.name = "retire vs the timer-sleeper role";
  s.next_deadline = 5;
  s.actor_prog = {{act::procs, 1}};
  return s;
}

// (d) timer_armed / poke_sleeper vs go_idle's timer-sleeper role: the
// plain thread readies G1 (which never yields: the worker that takes it
// leaves the role free) and then arms a timer, as both workers go idle.
scenario timer_vs_go_idle() {
  scenario s;
  s.name = "timer_armed/poke_sleeper vs go_idle's sleeper role";
  s.prog[G1] = {{op::forever}};
  s.actor_prog = {{act::ready, G1}, {act::arm, 5}};
  return s;
}

// (d') a sleeper already sleeping until 10 when an earlier timer (5) is armed.
scenario earlier_timer_vs_sleeper() {
  scenario s;
  s.name = "an earlier timer vs the timer sleeper";
  s.next_deadline = 10;
  s.actor_prog = {{act::arm, 5}};
  return s;
}

// (e) the spinning count: two goroutines readied from a plain thread, each
// never yielding: notify_work skips while a worker spins, so a spinner that
// finds work must wake another (stop_spinning).
scenario spinning_handoff() {
  scenario s;
  s.name = "spinning count: two readies vs two workers";
  s.prog[G1] = {{op::forever}};
  s.prog[G2] = {{op::forever}};
  s.actor_prog = {{act::ready, G1}, {act::ready, G2}};
  return s;
}

result check(const scenario& sc, const variant& v) {
  result r = checker(sc, v).run();
  std::ostringstream o;
  o << sc.name << " [" << v.name << (v.weak ? ", weak" : ", sc") << "]: " << r.states << " states, "
    << r.terminal << " terminal, " << (r.violated ? "counterexample found" : "no violation");
  MESSAGE(o.str());
  return r;
}

void expect_pass(const scenario& sc, const variant& v) {
  result r = check(sc, v);
  INFO(r.trace);
  CHECK_FALSE(r.violated);
  CHECK(r.terminal > 0);
}

// expect_pass_both: passes sequentially consistent and in the weak model.
// The weak model differs only where a release/acq_rel store is buffered, so
// where the first search reached none, the second would be the same search.
void expect_pass_both(const scenario& sc, variant v) {
  v.weak = false;
  result r = check(sc, v);
  INFO(r.trace);
  CHECK_FALSE(r.violated);
  CHECK(r.terminal > 0);
  if (!r.release_stores) {
    MESSAGE((std::string(sc.name) + " [" + v.name + ", weak]: the same search as sc (no "
        "release-ordered store reached)"));
    return;
  }
  v.weak = true;
  expect_pass(sc, v);
}

// expect_counterexample: the mutation must break the property, and with a
// lost wake-up or slept-through timer, not a model bug.
void expect_counterexample(const scenario& sc, const variant& v, const char* kind) {
  result r = check(sc, v);
  REQUIRE(r.violated);
  CHECK(r.why.rfind(kind, 0) == 0);
  MESSAGE("counterexample:\n" << r.trace);
}

variant today(bool weak) {
  variant v;
  v.weak = weak;
  return v;
}

// The protocol as it was before the model found the three changes.
variant before_fixes(bool weak) {
  variant v;
  v.name = "before the three fixes";
  v.weak = weak;
  v.ready_worker_fence = false;
  v.unspin_under_lock = false;
  v.batch_wake = false;
  return v;
}

// The three changes the model finds necessary (see the tests below); the
// protocol with all three passes every scenario in both memory models.
variant fixed(bool weak) {
  variant v;
  v.name = "with the three fixes";
  v.weak = weak;
  v.ready_worker_fence = true;
  v.unspin_under_lock = true;
  v.batch_wake = true;
  return v;
}

std::vector<scenario> all_scenarios() {
  return {ready_vs_go_idle(),     ready_from_worker_vs_go_idle(), yield_vs_go_idle(),
          retire_vs_notify_work(),   retire_vs_timer_role(),         timer_vs_go_idle(),
          earlier_timer_vs_sleeper(), spinning_handoff()};
}

}  // namespace

TEST_CASE("idle model: today's protocol: ready, yield, retire and timers vs go_idle") {
  expect_pass_both(ready_vs_go_idle(), today(false));
  expect_pass_both(yield_vs_go_idle(), today(false));
  expect_pass_both(retire_vs_notify_work(), today(false));
  expect_pass_both(retire_vs_timer_role(), today(false));
  expect_pass_both(timer_vs_go_idle(), today(false));
  expect_pass_both(earlier_timer_vs_sleeper(), today(false));
  // ready() from a worker, sequentially consistent (x86, where the run_next
  // exchange is a full barrier): no lost wake-up. For `weak`, see below.
  expect_pass(ready_from_worker_vs_go_idle(), today(false));
}

TEST_CASE("idle model: the spinning count before its two fixes lost a wake-up; both fixes are needed") {
  // Two ways, both sequentially consistent:
  //  - notify_work takes a spinning slot (CAS 0 -> 1) before it looks for an
  //    idle worker and, finding none, gives it back only after unlocking
  //    sched_mu_ (idle.cpp:81-98). A worker that joins the idle list
  //    in between and rechecks before a readier's push sleeps, while the
  //    readier sees that phantom spinner and wakes nobody. Go's wakep gives
  //    the slot back before unlocking sched.lock, so a worker that joins the
  //    idle list later no longer sees it.
  //  - A worker that is not spinning takes a batch from the global queue
  //    (try_global_batch, worker_loop.cpp:68-70) and holds the rest of it,
  //    out of every queue, until it pushes them to its local queue; an idle
  //    worker's recheck can miss them in between, and nobody wakes it (only
  //    a spinner's stop_spinning does). Go moves the batch under sched.lock,
  //    which its idle path's global-queue check also takes.
  expect_counterexample(spinning_handoff(), before_fixes(false), "lost wake-up");
  expect_pass(spinning_handoff(), today(false));
  variant no_unspin_fix = fixed(false);
  no_unspin_fix.name = "fixes but notify_work's";
  no_unspin_fix.unspin_under_lock = false;
  expect_counterexample(spinning_handoff(), no_unspin_fix, "lost wake-up");
  variant no_batch_fix = fixed(false);
  no_batch_fix.name = "fixes but try_global_batch's";
  no_batch_fix.batch_wake = false;
  expect_counterexample(spinning_handoff(), no_batch_fix, "lost wake-up");
  // With both (and the fence), it passes: the next test.
}

TEST_CASE("idle model: ready() from a worker needs a fence if stores may be delayed (finding 2)") {
  // Issue 15 finding 2: ready() from a worker exchanged run_next (acq_rel)
  // and then loaded n_idle_/n_spinning_ relaxed. Where the exchange's store
  // may become visible after those loads (C++, AArch64), a worker going
  // idle misses the goroutine and ready() misses the idle worker. Fixed:
  // the exchange and the loads are seq_cst (idle.cpp, invariant 2b).
  expect_counterexample(ready_from_worker_vs_go_idle(), before_fixes(true), "lost wake-up");
  variant fenced = before_fixes(true);
  fenced.name = "ready from a worker with a seq_cst fence";
  fenced.ready_worker_fence = true;
  expect_pass(ready_from_worker_vs_go_idle(), fenced);
}

TEST_CASE("idle model: with the three fixes every scenario passes") {
  for (const scenario& sc : all_scenarios()) expect_pass_both(sc, fixed(false));
}

// Each mutation below breaks one step of the (fixed) protocol; the checker
// must find the lost wake-up and print its interleaving.

TEST_CASE("idle model: issue 15 finding 1's interleaving, replayed") {
  // W0 runs X (the W2), W1 is the W1; H never yields.
  const std::vector<checker::leg> legs = {
      {1, f_steal, false},       // W1 runs dry and spins (counted in n_spinning_)
      {0, y_nprocs, false},      // X readies H into W0's run_next: no wake (W1 spins)
      {0, y_push, false},        // X yields: the hand-off takes H
      {1, i_sleeping, true},     // W1 finds nothing and sleeps
  };                             // then W0 queues X and runs H for good
  variant old = today(false);
  old.name = "today, old yield";
  old.old_yield = true;
  scenario sc = yield_vs_go_idle();
  result r = checker(sc, old).replay(legs);
  REQUIRE(r.violated);
  CHECK(r.why.rfind("lost wake-up", 0) == 0);
  MESSAGE("replayed:\n" << r.trace);
  result now = checker(sc, today(false)).replay(legs);
  INFO(now.trace);
  CHECK(now.terminal == 1);
  CHECK_FALSE(now.violated);
  CHECK(now.why.empty());
}

TEST_CASE("idle model: the yield before issue 15 loses a wake-up (finding 1)") {
  variant v = fixed(false);
  v.name = "old yield: global_push, no wake";
  v.old_yield = true;
  expect_counterexample(yield_vs_go_idle(), v, "lost wake-up");
  v = today(false);
  v.name = "today, old yield";
  v.old_yield = true;
  expect_counterexample(yield_vs_go_idle(), v, "lost wake-up");
}

TEST_CASE("idle model: go_idle without its recheck loses a wake-up") {
  variant v = fixed(false);
  v.name = "go_idle without work_visible()";
  v.no_recheck = true;
  expect_counterexample(ready_vs_go_idle(), v, "lost wake-up");
}

TEST_CASE("idle model: stop_spinning without its wake loses a wake-up") {
  variant v = fixed(false);
  v.name = "stop_spinning without notify_work";
  v.no_last_spinner_wake = true;
  expect_counterexample(spinning_handoff(), v, "lost wake-up");
}

TEST_CASE("idle model: retire without its wake loses a wake-up") {
  variant v = fixed(false);
  v.name = "retire without notify_work";
  v.no_retire_wake = true;
  expect_counterexample(retire_vs_notify_work(), v, "lost wake-up");
}

TEST_CASE("idle model: a worker that sleeps on a failed global take loses a wake-up") {
  // The global queue's takes may fail while it holds goroutines
  // (global_queue.hpp); go_idle's recheck reads size(), which never
  // undercounts (idle.cpp, invariant 6). A recheck by take does not do.
  variant v = fixed(false);
  v.name = "go_idle's recheck by a take";
  v.sleep_on_failed_take = true;
  expect_counterexample(ready_vs_go_idle(), v, "lost wake-up");
}

TEST_CASE("idle model: retire without its timer wake sleeps through a timer") {
  variant v = fixed(false);
  v.name = "retire without notify_work for timers";
  v.no_retire_timer_wake = true;
  expect_counterexample(retire_vs_timer_role(), v, "timer slept through");
}
