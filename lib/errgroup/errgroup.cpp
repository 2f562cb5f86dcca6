// errgroup.cpp — errgroup::group's shared state (Go's x/sync/errgroup).
//
// The state is shared (shared_ptr) between the group handle and its
// goroutines, so moving the group (with_context returns it) is safe while
// goroutines run. The limit is Go's: a buffered channel of `limit` tokens;
// go() sends one (blocking when full), a finishing goroutine receives one.
//
// Lock: mu covers err, cancel and sem. Held briefly; never across a
// blocking operation (the token send/receive happen outside it, on a copy
// of the channel handle).
#include "csp/errgroup.hpp"

#include <mutex>
#include <string>

#include "base/spin_mutex.hpp"
#include "csp/panic.hpp"
#include "csp/sync.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

struct errgroup_state {
  sync::wait_group wg;
  spin_mutex mu{lock_rank::errgroup};
  std::exception_ptr err CSP_GUARDED_BY(mu);   // the first failure
  context::cancel_func cancel CSP_GUARDED_BY(mu);  // with_context's; no-op otherwise
  chan<> sem CSP_GUARDED_BY(mu);               // nil: no limit
};

std::shared_ptr<errgroup_state> errgroup_new(context::cancel_func cancel) {
  auto s = std::make_shared<errgroup_state>();
  s->cancel = std::move(cancel);
  return s;
}

bool errgroup_enter(errgroup_state* s, bool block) {
  chan<> sem;
  {
    std::lock_guard<spin_mutex> lock(s->mu);
    sem = s->sem;
  }
  if (sem) {
    if (block) sem.send(unit{});
    else if (!sem.try_send(unit{})) return false;
  }
  s->wg.add(1);
  return true;
}

void errgroup_exit(errgroup_state* s, std::exception_ptr e) noexcept {
  chan<> sem;
  context::cancel_func cancel;
  bool first = false;
  {
    std::lock_guard<spin_mutex> lock(s->mu);
    sem = s->sem;
    if (e && !s->err) {
      s->err = std::move(e);
      cancel = s->cancel;
      first = true;
    }
  }
  if (first) cancel();  // outside mu: cancelling wakes goroutines
  if (sem) sem.try_recv();  // return our token (always there: we sent it)
  s->wg.done();
}

std::exception_ptr errgroup_wait(errgroup_state* s) {
  s->wg.wait();
  context::cancel_func cancel;
  std::exception_ptr err;
  {
    std::lock_guard<spin_mutex> lock(s->mu);
    cancel = s->cancel;
    err = s->err;
  }
  cancel();
  return err;
}

void errgroup_set_limit(errgroup_state* s, int n) {
  std::lock_guard<spin_mutex> lock(s->mu);
  if (s->sem && s->sem.len() != 0)
    throw panic("errgroup: modify limit while " + std::to_string(s->sem.len()) +
                " goroutines in the group are still active");
  if (n < 0) s->sem = nullptr;
  else s->sem = make_chan<>(static_cast<std::size_t>(n));
}

std::error_code errgroup_error_of(std::exception_ptr e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& err) {
    return err.code();
  }  // anything else propagates
}

}  // namespace csp::detail

namespace csp::errgroup {

with_context_result with_context(const context::context& parent) {
  auto [ctx, cancel] = context::with_cancel(parent);
  return {group(detail::errgroup_new(cancel)), ctx};
}

}  // namespace csp::errgroup
