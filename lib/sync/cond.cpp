// cond.cpp — sync::cond, Go's sync.Cond (src/sync/cond.go) over the notify
// list in lib/sync/semaphore.hpp.
//
// The protocol (Go's): wait() takes a ticket while still holding the
// caller's lock, releases the lock, then waits for that ticket to be
// notified; signal() notifies the oldest unnotified ticket, broadcast()
// every ticket handed out. Tickets are what make the release of the lock
// and the start of the wait atomic with respect to signal(): a signal()
// that runs after our unlock — even before we queue — notifies our ticket
// (or an older one), and notify_list_wait then returns at once.
//
// Lifetime (API.md): signal() and broadcast() write to the cond (notify_)
// only under the semaphore table's lock, and after that lock is released
// they only ready() waiters, so a woken waiter may destroy the cond while
// they return.
#include <csp/sync.hpp>

#include "sync/semaphore.hpp"

namespace csp::sync {

std::uint32_t cond::add_ticket() noexcept { return detail::notify_list_add(&wait_); }

void cond::wait_ticket(std::uint32_t ticket) noexcept {
  detail::notify_list_wait(&wait_, &notify_, ticket);
}

void cond::signal() noexcept { detail::notify_list_notify_one(&wait_, &notify_); }

void cond::broadcast() noexcept { detail::notify_list_notify_all(&wait_, &notify_); }

}  // namespace csp::sync
