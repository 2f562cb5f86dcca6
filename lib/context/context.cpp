// context.cpp — the context tree (Go's context package).
//
// A context_node is background (never used: a null handle is background),
// a value node (key, value; everything else from its parent), or a cancel
// node (its own done channel, error, children; maybe its own deadline).
//
// Ownership: a child holds its parent (shared_ptr), so ancestors outlive
// descendants. A cancel node's nearest cancel-node ancestor (`linked_to`)
// lists it in `children` by raw pointer with a weak_ptr beside it, so the
// parent never keeps a child alive; the child erases itself when it is
// cancelled or destroyed.
//
// Invariants (node.mu held):
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
#include "csp/context.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/spin_mutex.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

struct context_node {
  enum class kind : unsigned char { value, cancel };

  explicit context_node(kind k) : k(k) {}
  ~context_node();

  const kind k;
  std::shared_ptr<context_node> parent;  // immutable; null: background

  // value nodes (immutable):
  const void* key = nullptr;
  std::any val;

  // cancel nodes:
  chan<> done_ch;                                // immutable after construction
  std::optional<time::time_point> own_deadline;  // immutable after construction
  context_node* linked_to = nullptr;             // immutable once linked; see the top of the file

  spin_mutex mu;  // covers the fields below; held briefly, never across a park
  std::error_code err CSP_GUARDED_BY(mu);
  std::unordered_map<context_node*, std::weak_ptr<context_node>> children CSP_GUARDED_BY(mu);
  time::timer* deadline_timer CSP_GUARDED_BY(mu) = nullptr;  // owned; after_func for own_deadline
};

namespace {

// nearest_cancel returns n or its nearest ancestor that is a cancel node.
context_node* nearest_cancel(context_node* n) noexcept {
  while (n != nullptr && n->k != context_node::kind::cancel) n = n->parent.get();
  return n;
}

void unlink(context_node* n) noexcept {
  if (context_node* p = n->linked_to) {
    std::lock_guard<spin_mutex> lock(p->mu);
    p->children.erase(n);
  }
}

// cancel cancels n (a cancel node) and its descendants with e.
void cancel(context_node* n, std::error_code e, bool remove_from_parent) noexcept {
  std::vector<std::shared_ptr<context_node>> kids;
  time::timer* tm = nullptr;
  {
    std::lock_guard<spin_mutex> lock(n->mu);
    if (n->err) return;  // already cancelled: idempotent
    n->err = e;
    n->done_ch.close();  // under mu: see the invariants
    kids.reserve(n->children.size());
    for (auto& [raw, weak] : n->children)
      if (auto k = weak.lock()) kids.push_back(std::move(k));  // a dying child unlinks itself
    n->children.clear();
    tm = std::exchange(n->deadline_timer, nullptr);
  }
  for (auto& k : kids) cancel(k.get(), e, /*remove_from_parent=*/false);  // we already dropped them
  if (remove_from_parent) unlink(n);
  if (tm != nullptr) {
    tm->stop();
    delete tm;
  }
}

}  // namespace

context_node::~context_node() {
  if (k != kind::cancel) return;
  unlink(this);  // not cancelled by anyone: still listed in our ancestor
  time::timer* tm;
  {
    std::lock_guard<spin_mutex> lock(mu);
    tm = std::exchange(deadline_timer, nullptr);
  }
  if (tm != nullptr) {
    tm->stop();
    delete tm;
  }
}

}  // namespace csp::detail

namespace csp::context {

using detail::context_node;

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
std::shared_ptr<context_node> new_cancel_node(const context& parent,
                                              std::optional<time::time_point> deadline) {
  auto n = std::make_shared<context_node>(context_node::kind::cancel);
  n->parent = parent.node();
  n->done_ch = make_chan<>();
  n->own_deadline = deadline;
  std::error_code parent_err;
  if (context_node* a = detail::nearest_cancel(n->parent.get())) {
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
  context_node* n = detail::nearest_cancel(n_.get());
  if (n == nullptr) return nullptr;  // background: never done
  return n->done_ch;
}

std::error_code context::err() const {
  context_node* n = detail::nearest_cancel(n_.get());
  if (n == nullptr) return {};
  std::lock_guard<detail::spin_mutex> lock(n->mu);
  return n->err;
}

std::optional<time::time_point> context::deadline() const {
  for (context_node* n = n_.get(); n != nullptr; n = n->parent.get())
    if (n->k == context_node::kind::cancel && n->own_deadline) return n->own_deadline;
  return std::nullopt;
}

std::any context::value(const void* key) const {
  for (context_node* n = n_.get(); n != nullptr; n = n->parent.get())
    if (n->k == context_node::kind::value && n->key == key) return n->val;
  return {};
}

void cancel_func::operator()() const noexcept {
  if (n_) detail::cancel(n_.get(), make_error_code(errc::canceled), /*remove_from_parent=*/true);
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
  std::weak_ptr<context_node> weak = n;
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
  if (already_done) {  // the parent was cancelled meanwhile
    tm->stop();
    delete tm;
  }
  return {context(n), cancel_func(n)};
}

context with_value(const context& parent, const void* key, std::any value) {
  auto n = std::make_shared<context_node>(context_node::kind::value);
  n->parent = parent.node();
  n->key = key;
  n->val = std::move(value);
  return context(n);
}

}  // namespace csp::context

namespace csp::detail {

// context_children: the number of children c's nearest cancel node lists
// (tests check that cancelled children unlink). 0 for background.
std::size_t context_children(const context::context& c) {
  context_node* n = nearest_cancel(c.node().get());
  if (n == nullptr) return 0;
  std::lock_guard<spin_mutex> lock(n->mu);
  return n->children.size();
}

}  // namespace csp::detail
