// poll_desc.cpp — poll descriptors: readiness tokens, waiters, deadlines,
// close. Protocol, invariants and lock order: netpoll.hpp.
#include <mutex>

#include "debug/fatal.hpp"
#include "netpoll/netpoll.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

std::atomic<std::int64_t> netpoll_io_waiters{0};

namespace {

// The pool of recycled descriptors (Go's pollcache). Never shrinks: see
// "Memory" in netpoll.hpp.
spin_mutex pool_mu{lock_rank::poll_desc_pool};
poll_desc* pool_free CSP_GUARDED_BY(pool_mu) = nullptr;

poll_desc::direction& dir_of(poll_desc* pd, io_mode mode) noexcept {
  return pd->dirs[static_cast<int>(mode)];
}

// take_waiter unlinks the direction's waiter (if any) for the caller to
// ready once pd->mu is released.
task* take_waiter(poll_desc::direction& d) noexcept {
  task* t = d.waiter;
  d.waiter = nullptr;
  return t;
}

// wake readies a taken waiter, then drops its counts (after the ready: a
// deadlock check that sees the counts drop sees the task runnable).
void wake(task* t) noexcept {
  if (t == nullptr) return;
  ready(t);
  netpoll_io_waiters.fetch_sub(1, std::memory_order_seq_cst);
  pending_wakers.fetch_sub(1, std::memory_order_seq_cst);
}

// deadline_fired is a deadline timer's fire (timer_heap.hpp, callback kind).
void deadline_fired(timer_node* t, std::uint64_t seq) noexcept {
  auto* pd = static_cast<poll_desc*>(t->arg);
  task* waiter = nullptr;
  {
    std::lock_guard<spin_mutex> lock(pd->mu);
    poll_desc::direction& d = t == &pd->dirs[0].timer ? pd->dirs[0] : pd->dirs[1];
    if (d.seq != seq) return;  // the deadline changed, or pd was closed or recycled
    d.expired.store(true, std::memory_order_release);
    waiter = take_waiter(d);
  }
  wake(waiter);
}

}  // namespace

void ready_list::ready_all() noexcept {
  for (int i = 0; i < n; ++i) ready(tasks[i]);
  if (n > 0) {
    netpoll_io_waiters.fetch_sub(n, std::memory_order_seq_cst);
    pending_wakers.fetch_sub(n, std::memory_order_seq_cst);
  }
  n = 0;
}

poll_desc* pd_alloc(int fd) noexcept {
  poll_desc* pd = nullptr;
  {
    std::lock_guard<spin_mutex> lock(pool_mu);
    pd = pool_free;
    if (pd != nullptr) pool_free = pd->next_free;
  }
  if (pd == nullptr) {
    pd = new poll_desc();
    for (auto& d : pd->dirs) {
      d.timer.fire = deadline_fired;
      d.timer.arg = pd;
    }
  }
  std::lock_guard<spin_mutex> lock(pd->mu);
  pd->fd = fd;
  pd->closing.store(false, std::memory_order_relaxed);
  pd->hung_up.store(false, std::memory_order_relaxed);
  for (auto& d : pd->dirs) {
    CSP_ASSERT(d.waiter == nullptr);
    d.ready = false;
    d.expired.store(false, std::memory_order_relaxed);
    d.deadline = 0;
    ++d.seq;
  }
  return pd;
}

void pd_free(poll_desc* pd) noexcept {
  {
    std::lock_guard<spin_mutex> lock(pd->mu);
    for (auto& d : pd->dirs) {
      if (d.waiter != nullptr) CSP_FATAL("a poll descriptor was freed with a task waiting on it");
      ++d.seq;  // a fire already on its way is stale
      timer_disarm(&d.timer);
    }
    pd->fd = -1;
  }
  std::lock_guard<spin_mutex> lock(pool_mu);
  pd->next_free = pool_free;
  pool_free = pd;
}

io_status pd_check(poll_desc* pd, io_mode mode) noexcept {
  // acquire; pairs with the release stores under mu in pd_evict and
  // pd_set_deadline/deadline_fired (a stale false: see netpoll.hpp).
  if (pd->closing.load(std::memory_order_acquire)) return io_status::closed;
  if (dir_of(pd, mode).expired.load(std::memory_order_acquire)) return io_status::timeout;
  return io_status::ready;
}

io_status pd_wait(poll_desc* pd, io_mode mode) {
  poll_desc::direction& d = dir_of(pd, mode);
  pd->mu.lock();
  for (;;) {
    if (pd->closing.load(std::memory_order_relaxed)) break;
    if (d.expired.load(std::memory_order_relaxed)) break;
    if (d.ready) {
      d.ready = false;
      pd->mu.unlock();
      return io_status::ready;
    }
    if (d.waiter != nullptr) CSP_FATAL("two tasks wait on one direction of a poll descriptor");
    d.waiter = current_task();
    // Counted before mu is released: from the moment a waker can take us,
    // the deadlock detector and the busy workers' poll see us.
    netpoll_io_waiters.fetch_add(1, std::memory_order_seq_cst);
    pending_wakers.fetch_add(1, std::memory_order_seq_cst);
    // Someone must poll for us: an idle worker asleep on its futex would
    // not (busy workers will, when they run out of work).
    scheduler::instance().io_wait_starting();
    park_unlock(wait_reason::io_wait, pd->mu);
    // Woken by readiness (token set), a deadline (expired) or close
    // (closing); look again under the lock.
    pd->mu.lock();
  }
  io_status why = pd->closing.load(std::memory_order_relaxed) ? io_status::closed : io_status::timeout;
  pd->mu.unlock();
  return why;
}

void pd_set_deadline(poll_desc* pd, std::int64_t when_ns, unsigned modes) noexcept {
  task* woken[2] = {nullptr, nullptr};
  {
    std::lock_guard<spin_mutex> lock(pd->mu);
    std::int64_t now = when_ns > 0 ? mono_now_ns() : 0;
    for (int i = 0; i < 2; ++i) {
      if ((modes & (1u << i)) == 0) continue;
      poll_desc::direction& d = pd->dirs[i];
      ++d.seq;
      d.deadline = when_ns;
      if (when_ns <= 0) {
        timer_disarm(&d.timer);
        d.expired.store(false, std::memory_order_release);
      } else if (when_ns <= now) {
        timer_disarm(&d.timer);
        d.expired.store(true, std::memory_order_release);
        woken[i] = take_waiter(d);
      } else {
        d.expired.store(false, std::memory_order_release);
        timer_rearm(&d.timer, when_ns, d.seq);
      }
    }
  }
  wake(woken[0]);
  wake(woken[1]);
}

void pd_evict(poll_desc* pd) noexcept {
  task* woken[2];
  {
    std::lock_guard<spin_mutex> lock(pd->mu);
    pd->closing.store(true, std::memory_order_release);
    for (int i = 0; i < 2; ++i) {
      poll_desc::direction& d = pd->dirs[i];
      ++d.seq;
      timer_disarm(&d.timer);
      woken[i] = take_waiter(d);
    }
  }
  wake(woken[0]);
  wake(woken[1]);
}

void pd_ready(poll_desc* pd, bool readable, bool writable, bool hangup, ready_list& out) noexcept {
  std::lock_guard<spin_mutex> lock(pd->mu);
  if (hangup) pd->hung_up.store(true, std::memory_order_release);
  if (readable) {
    pd->dirs[0].ready = true;
    if (task* t = take_waiter(pd->dirs[0])) out.push(t);
  }
  if (writable) {
    pd->dirs[1].ready = true;
    if (task* t = take_waiter(pd->dirs[1])) out.push(t);
  }
}

}  // namespace csp::detail
