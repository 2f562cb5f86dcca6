// context_test.cpp — context::background, with_cancel, with_timeout,
// with_deadline, with_value.
//
// Cases named "(Go: Test...)" port the behaviour of that test in Go's
// src/context/context_test.go (x_test.go), in our own words.
#include <doctest/doctest.h>

#include <any>
#include <atomic>
#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <csp/go.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using namespace csp;

namespace csp::detail {
// context_children: how many live children a cancel context lists (lib/context).
std::size_t context_children(const context::context& c);
}  // namespace csp::detail

namespace {

constexpr auto slack = 2s;

// done_within: ctx.done() becomes ready within d.
bool done_within(const context::context& ctx, std::chrono::milliseconds d) {
  return select(recv(ctx.done()), recv(time::after(d))) == 0;
}

bool not_done(const context::context& ctx) { return !ctx.done().try_recv() && !ctx.err(); }

const int key1 = 0, key2 = 0, key3 = 0;  // keys: the addresses of static objects

}  // namespace

TEST_CASE("context: background is never done and has no deadline or values (Go: TestBackground)") {
  auto c = context::background();
  CHECK_FALSE(c.done());  // nil: never ready
  CHECK_FALSE(c.err());
  CHECK_FALSE(c.deadline());
  CHECK_FALSE(c.value(&key1).has_value());
  CHECK_FALSE(context::todo().done());
  context::context zero;  // default: background
  CHECK_FALSE(zero.err());
}

TEST_CASE("context: errors have their own category and Go's messages") {
  std::error_code e = context::canceled;
  CHECK(e.category().name() == std::string("context"));
  CHECK(e.message() == "context canceled");
  CHECK(std::error_code(context::deadline_exceeded).message() == "context deadline exceeded");
  CHECK(e != std::error_code(context::deadline_exceeded));
  CHECK(e != std::make_error_code(std::errc::operation_canceled));
}

TEST_CASE("context: cancelling a parent cancels its whole subtree (Go: TestWithCancel)") {
  auto [c1, cancel] = context::with_cancel(context::background());
  auto c2 = context::with_value(c1, &key1, 1);        // a value layer in between
  auto [c3, cancel3] = context::with_cancel(c2);
  auto [c4, cancel4] = context::with_timeout(c3, 1h);
  for (auto* c : {&c1, &c2, &c3, &c4}) CHECK(not_done(*c));
  cancel();
  for (auto* c : {&c1, &c2, &c3, &c4}) {
    CHECK(done_within(*c, 100ms));
    CHECK(c->err() == context::canceled);
  }
  cancel3();
  cancel4();
}

TEST_CASE("context: a parent's cancel reaches its children, and empties its list (Go: TestParentFinishesChild)") {
  auto [parent, cancel] = context::with_cancel(context::background());
  auto [child1, cancel1] = context::with_cancel(parent);
  auto valued = context::with_value(parent, &key1, std::string("v"));
  auto [child2, cancel2] = context::with_timeout(valued, 1h);
  CHECK(detail::context_children(parent) == 2);
  cancel();
  CHECK(detail::context_children(parent) == 0);
  CHECK(child1.err() == context::canceled);
  CHECK(child2.err() == context::canceled);
  CHECK(done_within(child2, 100ms));
  // A child made from a cancelled parent is born cancelled.
  auto [late, cancel_late] = context::with_cancel(valued);
  CHECK(late.err() == context::canceled);
  CHECK(detail::context_children(parent) == 0);
}

TEST_CASE("context: a cancelled child unlinks from its parent, which stays live (Go: TestChildFinishesFirst)") {
  auto [parent, cancel] = context::with_cancel(context::background());
  auto [child, cancel_child] = context::with_cancel(parent);
  CHECK(detail::context_children(parent) == 1);
  cancel_child();
  CHECK(detail::context_children(parent) == 0);
  CHECK(child.err() == context::canceled);
  CHECK(not_done(parent));
  cancel();
}

TEST_CASE("context: a long-lived parent does not accumulate short-lived children (Go: TestCancelRemoves)") {
  auto [parent, cancel] = context::with_cancel(context::background());
  for (int i = 0; i < 10'000; ++i) {
    auto [c, cc] = context::with_cancel(parent);
    cc();
  }
  CHECK(detail::context_children(parent) == 0);
  for (int i = 0; i < 1'000; ++i) {
    auto [c, cc] = context::with_timeout(parent, 1h);
    cc();
  }
  CHECK(detail::context_children(parent) == 0);
  // Dropped without cancel (a bug in Go, which leaks until the parent ends):
  // here the child's destruction unlinks it.
  for (int i = 0; i < 1'000; ++i) (void)context::with_cancel(parent);
  CHECK(detail::context_children(parent) == 0);
  cancel();
}

TEST_CASE("context: cancel is idempotent, copyable, and works from any thread") {
  auto [ctx, cancel] = context::with_cancel(context::background());
  auto copy = cancel;
  std::thread t([copy] { copy(); });
  t.join();
  cancel();
  copy();
  CHECK(ctx.err() == context::canceled);
  context::cancel_func none;
  none();  // a default cancel_func does nothing
}

TEST_CASE("context: the first reason wins") {
  auto [ctx, cancel] = context::with_timeout(context::background(), 10ms);
  cancel();
  std::this_thread::sleep_for(30ms);
  CHECK(ctx.err() == context::canceled);  // not overwritten by the deadline (Go: TestCanceledTimeout)
}

TEST_CASE("context: with_deadline is cancelled at its deadline (Go: TestDeadline)") {
  csp_test::with_procs({1, 2}, [](int) {
    auto start = std::chrono::steady_clock::now();
    auto [ctx, cancel] = context::with_deadline(context::background(), start + 50ms);
    CHECK(ctx.deadline() == start + 50ms);
    CHECK(not_done(ctx));
    CHECK(done_within(ctx, 50ms + slack));
    CHECK(std::chrono::steady_clock::now() >= start + 50ms);
    CHECK(ctx.err() == context::deadline_exceeded);
    cancel();
    CHECK(ctx.err() == context::deadline_exceeded);
  });
}

TEST_CASE("context: with_timeout is cancelled after its timeout (Go: TestTimeout)") {
  auto start = std::chrono::steady_clock::now();
  auto [ctx, cancel] = context::with_timeout(context::background(), 30ms);
  auto [child, cc] = context::with_cancel(context::with_value(ctx, &key1, 1));
  CHECK(done_within(child, 30ms + slack));
  CHECK(std::chrono::steady_clock::now() >= start + 30ms);
  CHECK(child.err() == context::deadline_exceeded);  // the parent's reason propagates
  cancel();
}

TEST_CASE("context: a deadline already past cancels at once") {
  auto [ctx, cancel] = context::with_deadline(context::background(),
                                              std::chrono::steady_clock::now() - 1s);
  CHECK(ctx.err() == context::deadline_exceeded);
  CHECK(ctx.done().try_recv().has_value() == false);  // closed: try_recv is empty...
  CHECK(select(recv(ctx.done()), default_case) == 0);  // ...but ready
  auto [ctx2, cancel2] = context::with_timeout(context::background(), -5s);
  CHECK(ctx2.err() == context::deadline_exceeded);
}

TEST_CASE("context: deadlines propagate: a child cannot outlive its parent's deadline") {
  auto base = std::chrono::steady_clock::now();
  auto [parent, cancel] = context::with_deadline(context::background(), base + 1h);
  auto [later, c1] = context::with_deadline(parent, base + 2h);
  CHECK(later.deadline() == base + 1h);  // the parent's is sooner
  auto [sooner, c2] = context::with_deadline(parent, base + 30min);
  CHECK(sooner.deadline() == base + 30min);
  auto [plain, c3] = context::with_cancel(context::with_value(sooner, &key1, 1));
  CHECK(plain.deadline() == base + 30min);
  cancel();
  CHECK(later.err() == context::canceled);
  CHECK(sooner.err() == context::canceled);
  CHECK(plain.err() == context::canceled);
}

TEST_CASE("context: values are found up the chain; the nearest wins (Go: TestValues)") {
  auto c0 = context::background();
  auto c1 = context::with_value(c0, &key1, std::string("c1k1"));
  auto c2 = context::with_value(c1, &key2, std::string("c2k2"));
  auto c3 = context::with_value(c2, &key3, std::string("c3k3"));
  auto c4 = context::with_value(c3, &key1, std::string("c4k1"));  // shadows c1's
  auto [c5, cancel] = context::with_cancel(c4);
  auto get = [](const context::context& c, const void* k) {
    std::any v = c.value(k);
    return v.has_value() ? std::any_cast<std::string>(v) : std::string("-");
  };
  CHECK(get(c0, &key1) == "-");
  CHECK(get(c1, &key1) == "c1k1");
  CHECK(get(c1, &key2) == "-");
  CHECK(get(c3, &key1) == "c1k1");
  CHECK(get(c3, &key2) == "c2k2");
  CHECK(get(c3, &key3) == "c3k3");
  CHECK(get(c4, &key1) == "c4k1");
  CHECK(get(c5, &key1) == "c4k1");
  CHECK(get(c5, &key3) == "c3k3");
  cancel();
  CHECK(get(c5, &key2) == "c2k2");  // values survive cancellation
  int other = 0;
  CHECK_FALSE(c5.value(&other).has_value());  // compared by address
}

TEST_CASE("context: cancellation wakes every goroutine selecting on done()") {
  csp_test::with_procs({1, 4}, [](int) {
    const int n = static_cast<int>(std::max<long>(8, 500 / csp_test::sanitizer_scale));
    auto [ctx, cancel] = context::with_cancel(context::background());
    auto work = make_chan<int>();
    std::atomic<int> woke{0};
    sync::wait_group wg;
    for (int i = 0; i < n; ++i)
      wg.go([&, ctx = ctx] {
        std::optional<int> v;
        if (select(recv(work, v), recv(ctx.done())) == 1) ++woke;
      });
    std::this_thread::sleep_for(10ms);
    cancel();
    wg.wait();
    CHECK(woke.load() == n);
  });
}

TEST_CASE("context: many goroutines cancel a tree at once (Go: TestSimultaneousCancels)") {
  csp_test::with_procs({1, 4}, [](int) {
    auto [root, cancel_root] = context::with_cancel(context::background());
    std::vector<context::with_cancel_result> nodes;
    nodes.push_back({root, cancel_root});
    // A random tree of 100 nodes, each under an earlier one.
    std::mt19937 rng(42);
    for (int i = 1; i < 100; ++i) {
      auto& parent = nodes[rng() % nodes.size()];
      nodes.push_back(i % 3 == 0 ? context::with_timeout(parent.ctx, 1h) : context::with_cancel(parent.ctx));
    }
    sync::wait_group wg;
    for (auto& n : nodes) wg.go([c = n.cancel] { c(); });
    wg.wait();
    for (auto& n : nodes) {
      CHECK(done_within(n.ctx, 100ms));
      CHECK(n.ctx.err() == context::canceled);
    }
    CHECK(detail::context_children(root) == 0);
  });
}

TEST_CASE("context: a cancel observed in one context cancels another (Go: TestInterlockedCancels)") {
  auto [parent, cancel_parent] = context::with_cancel(context::background());
  auto [child, cancel_child] = context::with_timeout(context::background(), 1h);
  go([p = parent, cc = cancel_child] {
    p.done().recv();
    cc();
  });
  cancel_parent();
  CHECK(done_within(child, slack));
  CHECK(child.err() == context::canceled);
}

TEST_CASE("context: random layers of values, cancels and timeouts (Go: TestLayersCancel, TestLayersTimeout)") {
  for (int timeout = 0; timeout < 2; ++timeout) {
    std::mt19937 rng(7 + timeout);
    context::context ctx = context::background();
    std::vector<context::cancel_func> cancels;
    std::vector<int> vals;
    static const int keys[3] = {};
    for (int i = 0; i < 30; ++i) {
      switch (rng() % 3) {
        case 0: {
          int k = static_cast<int>(rng() % 3);
          ctx = context::with_value(ctx, &keys[k], i);
          break;
        }
        case 1: {
          auto r = context::with_cancel(ctx);
          ctx = r.ctx;
          cancels.push_back(r.cancel);
          break;
        }
        case 2: {
          auto r = context::with_timeout(ctx, timeout ? 30ms : 1h);
          ctx = r.ctx;
          cancels.push_back(r.cancel);
          break;
        }
      }
    }
    CHECK(not_done(ctx));
    if (timeout) {
      CHECK(done_within(ctx, slack));
      CHECK(ctx.err() == context::deadline_exceeded);
    } else if (!cancels.empty()) {
      cancels[rng() % cancels.size()]();
      CHECK(done_within(ctx, 100ms));
      CHECK(ctx.err() == context::canceled);
    }
    for (auto& c : cancels) c();
  }
}

TEST_CASE("context: a timed-out context releases its timer; a cancelled one too") {
  // Timers of earlier cases (fired deadlines whose goroutine is still
  // finishing) are released shortly; start from a settled count.
  for (int i = 0; i < 5000 && csp::detail::live_timers() > 0; ++i) std::this_thread::sleep_for(1ms);
  std::int64_t base = csp::detail::live_timers();
  {
    auto [ctx, cancel] = context::with_timeout(context::background(), 1h);
    CHECK(csp::detail::live_timers() == base + 1);
    cancel();
  }
  CHECK(csp::detail::live_timers() == base);
  {
    auto [ctx, cancel] = context::with_timeout(context::background(), 1h);
    (void)ctx;
  }  // dropped without cancel: freed, timer stopped
  CHECK(csp::detail::live_timers() == base);
}

// ---- keys compare as Go's interface keys (issue 17) ---------------------

namespace {
// Go's `type favContextKey string`: a key type of the program's own.
struct fav_context_key {
  std::string name;
  bool operator==(const fav_context_key&) const = default;
};
struct other_key {
  std::string name;
  bool operator==(const other_key&) const = default;
};
}  // namespace

TEST_CASE("context: ExampleWithValue, ported: an equal key finds the value, a string literal reads back as std::string") {
  // Go's context/example_test.go ExampleWithValue. It used to print "key
  // not found: language": keys compared by address, and a fresh, equal
  // fav_context_key is another address. The value, a literal, used to come
  // back as const char*, so any_cast<std::string> threw bad_any_cast.
  std::ostringstream out;
  auto f = [&out](const context::context& ctx, const fav_context_key& k) {
    if (std::any v = ctx.value(k); v.has_value()) {
      out << "found value: " << std::any_cast<std::string>(v) << "\n";
      return;
    }
    out << "key not found: " << k.name << "\n";
  };
  fav_context_key k{"language"};
  auto ctx = context::with_value(context::background(), k, "Go");
  f(ctx, k);
  f(ctx, fav_context_key{"language"});  // an equal key made elsewhere
  f(ctx, fav_context_key{"color"});
  CHECK(out.str() == "found value: Go\nfound value: Go\nkey not found: color\n");
}

TEST_CASE("context: keys of different types never match, even with equal contents (Go: interface equality)") {
  auto ctx = context::with_value(context::background(), fav_context_key{"k"}, 1);
  ctx = context::with_value(ctx, 7, std::string("int seven"));
  CHECK(std::any_cast<int>(ctx.value(fav_context_key{"k"})) == 1);
  CHECK_FALSE(ctx.value(other_key{"k"}).has_value());
  CHECK(std::any_cast<std::string>(ctx.value(7)) == "int seven");
  CHECK_FALSE(ctx.value(7L).has_value());  // long is another type
  CHECK_FALSE(ctx.value(8).has_value());
}

TEST_CASE("context: string keys compare by text; pointer keys by address, whatever their constness") {
  auto ctx = context::with_value(context::background(), "user", std::string("gopher"));
  CHECK(std::any_cast<std::string>(ctx.value(std::string("user"))) == "gopher");
  CHECK(std::any_cast<std::string>(ctx.value(std::string_view("user"))) == "gopher");
  const char* text = "user";
  CHECK(ctx.value(text).has_value());
  CHECK_FALSE(ctx.value("users").has_value());
  static int token = 0;
  auto ctx2 = context::with_value(ctx, &token, 5);
  const int* as_const = &token;
  CHECK(std::any_cast<int>(ctx2.value(as_const)) == 5);
  CHECK(std::any_cast<int>(ctx2.value(static_cast<const void*>(&token))) == 5);
  int same_value = 0;  // equal contents, another address
  CHECK_FALSE(ctx2.value(&same_value).has_value());
}

TEST_CASE("context: a nil key panics, as Go's WithValue") {
  const int* nil = nullptr;
  CHECK(csp_test::panic_message([&] { (void)context::with_value(context::background(), nil, 1); }) ==
        "nil key");
  CHECK(csp_test::panic_message([&] { (void)context::with_value(context::background(), nullptr, 1); }) ==
        "nil key");
}

// ---- deep chains: no recursion per level ---------------------------------

TEST_CASE("context: a 100,000-deep with_cancel chain is cancelled from main and dropped without overflowing the stack") {
  // cancel used to call itself once per descendant, and each node's
  // destructor dropped its parent from inside: 100,000 frames of each.
  constexpr int depth = 100'000;
  auto [root, cancel] = context::with_cancel(context::background());
  {
    context::context leaf = root;
    for (int i = 0; i < depth; ++i) leaf = context::with_cancel(leaf).ctx;
    CHECK_FALSE(leaf.err());
    cancel();
    CHECK(leaf.err() == context::canceled);
    CHECK(select(recv(leaf.done()), default_case) == 0);
  }  // the chain is released here, leaf first
  CHECK(detail::context_children(root) == 0);
}

TEST_CASE("context: a 1,000,000-deep with_value chain is searched and dropped without overflowing the stack") {
  constexpr int depth = 1'000'000;
  static const int bottom_key = 0, top_key = 0;
  context::context ctx = context::with_value(context::background(), &bottom_key, std::string("bottom"));
  for (int i = 0; i < depth; ++i) ctx = context::with_value(ctx, i, i);
  ctx = context::with_value(ctx, &top_key, 1);
  CHECK(std::any_cast<std::string>(ctx.value(&bottom_key)) == "bottom");
  CHECK(std::any_cast<int>(ctx.value(depth - 1)) == depth - 1);
  CHECK_FALSE(ctx.value(-1).has_value());
  ctx = context::background();  // drops the whole chain
  CHECK_FALSE(ctx.value(&top_key).has_value());
}

TEST_CASE("context: a 10,000-deep chain built, cancelled and dropped inside a goroutine (fixed stack)") {
  csp_test::with_procs({1, 2}, [](int) {
    auto done = make_chan<bool>(1);
    go([done] {
      constexpr int depth = 10'000;
      auto [root, cancel] = context::with_cancel(context::background());
      context::context leaf = root;
      for (int i = 0; i < depth; ++i) {
        leaf = i % 2 ? context::with_cancel(leaf).ctx : context::with_value(leaf, i, i);
      }
      cancel();
      bool ok = leaf.err() == context::canceled && std::any_cast<int>(leaf.value(0)) == 0;
      leaf = context::background();
      done << ok;
    });
    CHECK(done.recv().value_or(false));
  });
}

TEST_CASE("context: a deep chain whose values hold other deep chains is released without deep recursion") {
  // Releasing a value that holds a context releases that chain while the
  // outer chain is being released: both must unwind in loops.
  constexpr int depth = 100'000;
  context::context outer;
  for (int round = 0; round < 3; ++round) {
    context::context inner;
    for (int i = 0; i < depth; ++i) inner = context::with_value(inner, i, i);
    for (int i = 0; i < depth / 3; ++i) outer = context::with_value(outer, i, i % 997 == 0 ? std::any(inner) : std::any(i));
  }
  CHECK(std::any_cast<context::context>(outer.value(0)).value(depth - 1).has_value());
  outer = context::background();
  // Every value a context of its own over one long-lived root: each value's
  // release leaves a reference to the root in the slot the chain's loop uses.
  auto [root, cancel] = context::with_cancel(context::background());
  for (int i = 0; i < depth; ++i) outer = context::with_value(outer, i, context::with_value(root, i, i));
  CHECK(std::any_cast<context::context>(outer.value(5)).value(5).has_value());
  outer = context::background();
  cancel();
}
