// context.cpp — the context tree (Go's context package).
//
// A context_node is a value node (key, value; everything else from its
// parent) or a cancel node (its own done channel, error, children; maybe
// its own deadline). Background is no node at all: a null handle.
//
// Ownership: a child holds its parent (shared_ptr), so ancestors outlive
// descendants. A cancel node's nearest cancel-node ancestor (`linked_to`)
// lists it in `children` by raw pointer with a weak_ptr beside it, so the
// parent never keeps a child alive; the child erases itself when it is
// cancelled or destroyed.
//
// Invariants (cancel_node::mu held):
//   - err is empty until the node is cancelled, then never changes; done
//     is closed exactly when err is set (both under mu, so err() != 0
//     implies done() is closed, as Go's).
//   - Once err is set, children is empty and stays empty: a child created
//     after the cancel sees err and cancels itself instead of linking.
//
// Lock order: one node's mu at a time, then its done channel's lock
// (close), then the timer heap (starting or stopping the deadline timer is
// done outside mu). A parent's cancel takes its children out of the map
// under its own mu, releases it, then cancels each child.
//
// No recursion per level (a chain may be a million deep, and a goroutine's
// stack is fixed): lookups walk up with a loop, cancel keeps the subtree
// still to cancel in a work list, and release (below, ~context_node) hands
// each parent reference to a per-thread loop instead of dropping it from
// inside the child's destructor.
#include "csp/context.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/spin_mutex.hpp"
#include "csp/panic.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

struct context_node {
  enum class kind : unsigned char { value, cancel };

  explicit context_node(kind k) : k(k) {}
  context_node(const context_node&) = delete;
  context_node& operator=(const context_node&) = delete;
  ~context_node();

  const kind k;
  std::shared_ptr<context_node> parent;  // immutable; null: background
};

struct value_node : context_node {
  value_node() : context_node(kind::value) {}
  std::any key;                          // immutable; of context_key_t<K>
  context_key_eq_fn key_eq = nullptr;    // immutable; compares key with a probe of its type
  std::any val;                          // immutable
};

struct cancel_node : context_node {
  cancel_node() : context_node(kind::cancel) {}
  ~cancel_node();

  chan<> done_ch;                                // immutable after construction
  std::optional<time::time_point> own_deadline;  // immutable after construction
  cancel_node* linked_to = nullptr;              // immutable once linked; see the top of the file

  spin_mutex mu{lock_rank::context};  // covers the fields below; held briefly, never across a park
  std::error_code err CSP_GUARDED_BY(mu);
  std::unordered_map<cancel_node*, std::weak_ptr<cancel_node>> children CSP_GUARDED_BY(mu);
  time::timer* deadline_timer CSP_GUARDED_BY(mu) = nullptr;  // owned; after_func for own_deadline
};

namespace {

// nearest_cancel returns n or its nearest ancestor that is a cancel node.
cancel_node* nearest_cancel(context_node* n) noexcept {
  while (n != nullptr && n->k != context_node::kind::cancel) n = n->parent.get();
  return static_cast<cancel_node*>(n);
}

void unlink(cancel_node* n) noexcept {
  if (cancel_node* p = n->linked_to) {
    std::lock_guard<spin_mutex> lock(p->mu);
    p->children.erase(n);
  }
}

void stop_timer(time::timer* tm) noexcept {
  if (tm == nullptr) return;
  tm->stop();
  delete tm;
}

// cancel_one cancels n alone with e and appends its children to `kids`;
// false if n was already cancelled.
bool cancel_one(cancel_node* n, std::error_code e, std::vector<std::shared_ptr<cancel_node>>& kids) noexcept {
  time::timer* tm = nullptr;
  {
    std::lock_guard<spin_mutex> lock(n->mu);
    if (n->err) return false;  // already cancelled: idempotent
    n->err = e;
    n->done_ch.close();  // under mu: see the invariants
    for (auto& [raw, weak] : n->children)
      if (auto k = weak.lock()) kids.push_back(std::move(k));  // a dying child unlinks itself
    n->children.clear();
    tm = std::exchange(n->deadline_timer, nullptr);
  }
  stop_timer(tm);
  return true;
}

// cancel cancels n and its descendants with e, breadth by work list.
void cancel(cancel_node* n, std::error_code e, bool remove_from_parent) noexcept {
  std::vector<std::shared_ptr<cancel_node>> work;
  if (!cancel_one(n, e, work)) return;
  if (remove_from_parent) unlink(n);
  while (!work.empty()) {
    std::shared_ptr<cancel_node> k = std::move(work.back());
    work.pop_back();
    cancel_one(k.get(), e, work);  // we already took k out of its parent's list
  }
}

// The release loop. The outermost ~context_node on a thread drops the
// chain above it one parent at a time, through a slot on its stack that
// release_slot points to. A node that dies meanwhile (the parent, because
// its child let go) leaves its own parent in the slot instead of dropping
// it in place, which would recurse once per level. If the slot is taken (a
// value being destroyed released a context of its own a moment before),
// the dying node first drops what is there — whatever that frees deposits
// into the emptied slot again, so the loop below runs it — then leaves its
// parent. Nesting thus follows values that hold contexts, never a chain's
// length. Per-thread is safe because nothing in a node's destructor parks
// (a value's destructor must not block, which Go's values cannot either);
// a raw pointer, so the thread-local has no destructor (nodes may die in
// static destructors, after thread-locals with destructors are gone).
thread_local std::shared_ptr<context_node>* release_slot = nullptr;

}  // namespace

context_node::~context_node() {
  if (!parent) return;
  if (std::shared_ptr<context_node>* slot = release_slot) {
    while (*slot) {
      std::shared_ptr<context_node> taken = std::move(*slot);
      taken.reset();  // may die, and deposit its own parent in the slot
    }
    *slot = std::move(parent);  // the outermost frame's loop drops it
    return;
  }
  std::shared_ptr<context_node> next;
  release_slot = &next;
  std::shared_ptr<context_node> p = std::move(parent);
  while (p) {
    p.reset();            // if p dies, its destructor leaves p's parent in next
    p = std::move(next);  // next is empty again
  }
  release_slot = nullptr;
}

cancel_node::~cancel_node() {
  unlink(this);  // not cancelled by anyone: still listed in our ancestor
  time::timer* tm;
  {
    std::lock_guard<spin_mutex> lock(mu);
    tm = std::exchange(deadline_timer, nullptr);
  }
  stop_timer(tm);
}

void context_nil_key() { throw panic("nil key"); }

}  // namespace csp::detail

namespace csp::context {

using detail::cancel_node;
using detail::context_node;
using detail::value_node;

namespace {

class category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "context"; }
  std::string message(int e) const override {
    switch (static_cast<errc>(e)) {
      case errc::canceled: return "context canceled";
      case errc::deadline_exceeded: return "context deadline exceeded";
    }
    return "unknown context error";
  }
};

// new_cancel_node makes a cancel node under parent and links it (or
// cancels it at once if the parent is already done).
std::shared_ptr<cancel_node> new_cancel_node(const context& parent,
                                             std::optional<time::time_point> deadline) {
  auto n = std::make_shared<cancel_node>();
  n->parent = parent.node();
  n->done_ch = make_chan<>();
  n->own_deadline = deadline;
  std::error_code parent_err;
  if (cancel_node* a = detail::nearest_cancel(n->parent.get())) {
    std::lock_guard<detail::spin_mutex> lock(a->mu);
    if (a->err) {
      parent_err = a->err;
    } else {
      a->children.emplace(n.get(), n);
      n->linked_to = a;
    }
  }
  if (parent_err) detail::cancel(n.get(), parent_err, false);
  return n;
}

}  // namespace

const std::error_category& category() noexcept {
  static const category_impl c;
  return c;
}

recv_only<> context::done() const {
  cancel_node* n = detail::nearest_cancel(n_.get());
  if (n == nullptr) return nullptr;  // background: never done
  return n->done_ch;
}

std::error_code context::err() const {
  cancel_node* n = detail::nearest_cancel(n_.get());
  if (n == nullptr) return {};
  std::lock_guard<detail::spin_mutex> lock(n->mu);
  return n->err;
}

std::optional<time::time_point> context::deadline() const {
  for (context_node* n = n_.get(); n != nullptr; n = n->parent.get())
    if (n->k == context_node::kind::cancel) {
      if (auto& d = static_cast<cancel_node*>(n)->own_deadline) return d;
    }
  return std::nullopt;
}

std::any context::find_value(const std::type_info& t, const void* probe) const {
  for (context_node* n = n_.get(); n != nullptr; n = n->parent.get()) {
    if (n->k != context_node::kind::value) continue;
    auto* v = static_cast<value_node*>(n);
    if (v->key.type() == t && v->key_eq(v->key, probe)) return v->val;
  }
  return {};
}

void cancel_func::operator()() const noexcept {
  if (n_) detail::cancel(static_cast<cancel_node*>(n_.get()), make_error_code(errc::canceled), /*remove_from_parent=*/true);
}

context background() noexcept { return context(); }
context todo() noexcept { return context(); }

with_cancel_result with_cancel(const context& parent) {
  auto n = new_cancel_node(parent, std::nullopt);
  return {context(n), cancel_func(n)};
}

with_cancel_result with_deadline(const context& parent, time::time_point tp) {
  if (auto cur = parent.deadline(); cur && *cur <= tp) return with_cancel(parent);  // parent's is sooner
  auto n = new_cancel_node(parent, tp);
  auto d = tp - time::now();
  if (d <= time::duration::zero()) {
    detail::cancel(n.get(), make_error_code(errc::deadline_exceeded), /*remove_from_parent=*/true);
    return {context(n), cancel_func(n)};
  }
  // The timer's goroutine holds the node weakly: dropping every handle and
  // cancel function frees the context (and the destructor stops the timer).
  std::weak_ptr<cancel_node> weak = n;
  auto* tm = new time::timer(time::after_func(d, [weak] {
    if (auto s = weak.lock())
      detail::cancel(s.get(), make_error_code(errc::deadline_exceeded), /*remove_from_parent=*/true);
  }));
  bool already_done;
  {
    std::lock_guard<detail::spin_mutex> lock(n->mu);
    already_done = static_cast<bool>(n->err);
    if (!already_done) n->deadline_timer = tm;
  }
  if (already_done) detail::stop_timer(tm);  // the parent was cancelled meanwhile
  return {context(n), cancel_func(n)};
}

context with_value_erased(const context& parent, std::any key, detail::context_key_eq_fn eq,
                          std::any value) {
  auto n = std::make_shared<value_node>();
  n->parent = parent.node();
  n->key = std::move(key);
  n->key_eq = eq;
  n->val = std::move(value);
  return context(std::move(n));
}

}  // namespace csp::context

namespace csp::detail {

// context_children: the number of children c's nearest cancel node lists
// (tests check that cancelled children unlink). 0 for background.
std::size_t context_children(const context::context& c) {
  cancel_node* n = nearest_cancel(c.node().get());
  if (n == nullptr) return 0;
  std::lock_guard<spin_mutex> lock(n->mu);
  return n->children.size();
}

}  // namespace csp::detail
