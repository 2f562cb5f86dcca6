// csp/select.hpp — Go's select statement, in three forms over one core.
//
//   Index form:    switch (select(recv(a, v), send(b, std::move(x)), default_case)) { case 0: ... }
//   Callback form: select(on_recv(a, [&](std::optional<T> v) {...}), on_send(b, x, [&] {...}),
//                         on_default([&] {...}));
//   Dynamic form:  std::vector<select_case> cs{recv(a, v), send(b, x)}; int i = select(cs);
//   Labelled:      switch (select(recv(a, v).as(ev::got), recv(quit).as(ev::quit))) { case ev::got: ... }
//
// select returns the chosen case's index. When several cases are ready one
// is chosen uniformly at random; with none ready it runs the default case
// if there is one, else blocks until one is ready. A nil channel's case is
// never chosen; select() with no case blocks forever. The same channel may
// appear in several cases. A send case on a closed channel panics when
// chosen. A send case's value is moved (an lvalue's: copied) only if that
// case is chosen; a chosen receive case's optional gets the value, or is
// emptied if the channel was closed. recv(ch, v) with a plain T& v is Go's
// `case v = <-ch` (v = T{} if closed), recv(ch, v, ok) is `case v, ok = <-ch`.
//
// Labels: every case of one select may carry a label, `.as(e)` with e of
// one enum type; select then returns the chosen case's label instead of
// its index, so cases can be reordered, added or removed without
// renumbering a switch (and -Wswitch names a label the switch forgot).
//
// Lifetimes: the case helpers (recv, send, on_recv, ...) refer to their
// channel and value: use them inside the select(...) expression, or convert
// them to select_case, which holds its channel (keeps it alive) but still
// refers to the send value and receive destination: those must outlive the
// select call. The variadic forms allocate nothing.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include "csp/chan.hpp"
#include "csp/detail/chan_core.hpp"
#include "csp/panic.hpp"

namespace csp {

namespace detail {

template <class H>
struct chan_dir {
  static constexpr bool can_recv = false, can_send = false;
};
template <class T>
struct chan_dir<chan<T>> {
  static constexpr bool can_recv = true, can_send = true;
};
template <class T>
struct chan_dir<recv_only<T>> {
  static constexpr bool can_recv = true, can_send = false;
};
template <class T>
struct chan_dir<send_only<T>> {
  static constexpr bool can_recv = false, can_send = true;
};

template <class H>
concept recv_handle = chan_dir<std::remove_cvref_t<H>>::can_recv;
template <class H>
concept send_handle = chan_dir<std::remove_cvref_t<H>>::can_send;

template <class C>
concept select_case_like = requires { typename std::remove_cvref_t<C>::select_case_tag; };

template <class C>
concept labelled_case_like = requires { typename std::remove_cvref_t<C>::label_type; };

template <class T>
inline constexpr void require_copyable_send() {
  static_assert(std::is_copy_constructible_v<T>,
                "a send case given an lvalue copies it when chosen; pass std::move(v) for a "
                "move-only type");
}

}  // namespace detail

template <class C, class L>
struct labelled_case;

// recv_case: `case v := <-ch` (dst set) or `case <-ch` (the value dropped).
// A dropped value lands in `dropped` and is destroyed once chosen, after
// the select released its channel locks: its destructor may take runtime
// locks (the last handle of a timer's channel disarms the timer).
template <class T>
struct recv_case {
  // select_case_tag marks a case type for select(); c is the channel (null:
  // nil), dst where the value goes (null: dropped).
  using select_case_tag = void;
  detail::chan_core* c;
  std::optional<T>* dst;
  std::optional<T> dropped{};

  // to_scase, is_default and chosen are how select() reads the case and
  // completes it once chosen; not for direct use.
  detail::scase to_scase() noexcept { return {c, dst != nullptr ? dst : &dropped, nullptr, false}; }
  bool is_default() const noexcept { return false; }
  void chosen() noexcept { dropped.reset(); }
  // as labels the case (see the top of the file).
  template <class L>
  labelled_case<recv_case, L> as(L label) const noexcept {
    return {*this, label};
  }
};

// recv_into_case: `case v = <-ch` and `case v, ok = <-ch`: receive into an
// existing T, which gets T{} (Go's zero value) when ch is closed. The value
// lands in tmp first and is assigned to *dst only if this case is chosen.
template <class T>
struct recv_into_case {
  // select_case_tag marks a case type for select(); c is the channel (null:
  // nil), dst the variable assigned if chosen, ok the flag set if asked for
  // (null: not asked), tmp where the receive lands first.
  using select_case_tag = void;
  detail::chan_core* c;
  T* dst;
  bool* ok;
  std::optional<T> tmp{};

  // to_scase, is_default and chosen are how select() reads the case and
  // completes it once chosen (assigning *dst and *ok); not for direct use.
  // as labels the case (see the top of the file).
  detail::scase to_scase() noexcept { return {c, &tmp, nullptr, false}; }
  bool is_default() const noexcept { return false; }
  void chosen() {
    if (ok != nullptr) *ok = tmp.has_value();
    if (tmp) *dst = std::move(*tmp);
    else *dst = T{};
    tmp.reset();
  }
  // as labels the case (see the top of the file).
  template <class L>
  labelled_case<recv_into_case, L> as(L label) && {
    return {std::move(*this), label};
  }
};

// send_case: `case ch <- v`.
template <class T>
struct send_case {
  // select_case_tag marks a case type for select(); c is the channel (null:
  // nil), v the value to send, how whether sending moves or copies it.
  using select_case_tag = void;
  detail::chan_core* c;
  T* v;
  const detail::source_ops* how;

  // to_scase, is_default and chosen are how select() reads the case and
  // completes it once chosen; not for direct use.
  detail::scase to_scase() const noexcept { return {c, v, how, true}; }
  bool is_default() const noexcept { return false; }
  void chosen() const noexcept {}
  template <class L>
  labelled_case<send_case, L> as(L label) const noexcept {
    return {*this, label};
  }
};

// default_case: run when no other case is ready.
struct default_case_t {
  // select_case_tag marks a case type for select().
  using select_case_tag = void;
  // to_scase, is_default and chosen are how select() reads the case and
  // completes it once chosen; not for direct use.
  detail::scase to_scase() const noexcept { return {}; }
  bool is_default() const noexcept { return true; }
  void chosen() const noexcept {}
  template <class L>
  constexpr labelled_case<default_case_t, L> as(L label) const noexcept {
    return {*this, label};
  }
};
// default_case is the default case of the index form:
// `select(recv(a, v), default_case)`.
inline constexpr default_case_t default_case{};

// labelled_case is a case C that select reports by `label`, not position.
template <class C, class L>
struct labelled_case {
  static_assert(std::is_enum_v<L>,
                "select: a case label (.as(label)) must be an enum value, so that a switch over "
                "select's result names every case");
  // select_case_tag marks a case type for select(), label_type a labelled
  // one; c is the case, label what select returns if it is chosen.
  using select_case_tag = void;
  using label_type = L;
  C c;
  L label;

  // to_scase, is_default and chosen forward to c; not for direct use.
  detail::scase to_scase() noexcept { return c.to_scase(); }
  bool is_default() const noexcept { return c.is_default(); }
  void chosen() { c.chosen(); }
};

// on_recv_case: what on_recv returns, a receive case with a callback.
template <class T, class F>
struct on_recv_case {
  // select_case_tag marks a case type for select(); c is the channel (null:
  // nil), f the callback, v the received value handed to it.
  using select_case_tag = void;
  detail::chan_core* c;
  F f;
  std::optional<T> v{};

  // to_scase, is_default and chosen are how select() reads the case and
  // completes it once chosen; not for direct use.
  detail::scase to_scase() noexcept { return {c, &v, nullptr, false}; }
  bool is_default() const noexcept { return false; }
  void chosen() {
    if constexpr (std::is_invocable_v<F&, std::optional<T>&&>) f(std::move(v));  // else on_recv said why
  }
};

// on_send_case: what on_send returns, a send case with a callback.
template <class T, class F>
struct on_send_case {
  // select_case_tag marks a case type for select(); c is the channel (null:
  // nil), v the value, how whether sending moves or copies it, f the
  // callback run after the send.
  using select_case_tag = void;
  detail::chan_core* c;
  T* v;
  const detail::source_ops* how;
  F f;

  // to_scase, is_default and chosen are how select() reads the case and
  // completes it once chosen; not for direct use.
  detail::scase to_scase() const noexcept { return {c, v, how, true}; }
  bool is_default() const noexcept { return false; }
  void chosen() {
    if constexpr (std::is_invocable_v<F&>) f();  // else on_send / on_default said why
  }
};

// on_default_case: what on_default returns, a default case with a callback.
template <class F>
struct on_default_case {
  // select_case_tag marks a case type for select(); f is the callback.
  using select_case_tag = void;
  F f;

  // to_scase, is_default and chosen are how select() reads the case and
  // completes it once chosen; not for direct use.
  detail::scase to_scase() const noexcept { return {}; }
  bool is_default() const noexcept { return true; }
  void chosen() {
    if constexpr (std::is_invocable_v<F&>) f();  // else on_send / on_default said why
  }
};

// ---- case helpers -------------------------------------------------------

// recv(ch, v): receive into v (v empty if ch is closed). recv(ch): drop it.
template <detail::recv_handle H>
recv_case<typename H::value_type> recv(const H& ch, std::optional<typename H::value_type>& v) noexcept {
  return {ch.core(), &v};
}
template <detail::recv_handle H>
recv_case<typename H::value_type> recv(const H& ch) noexcept {
  return {ch.core(), nullptr};
}

// recv(ch, v) with a plain T& v: Go's `case v = <-ch`; v = T{} if ch is
// closed. recv(ch, v, ok): `case v, ok = <-ch`; ok is false if closed.
// Both assign only if the case is chosen.
template <detail::recv_handle H>
recv_into_case<typename H::value_type> recv(const H& ch, typename H::value_type& v) {
  using T = typename H::value_type;
  static_assert(std::is_default_constructible_v<T>,
                "recv(ch, v): v gets T{} (Go's zero value) when ch is closed, so T must be "
                "default-constructible; receive into a std::optional<T> instead");
  return {ch.core(), std::addressof(v), nullptr};
}
template <detail::recv_handle H>
recv_into_case<typename H::value_type> recv(const H& ch, typename H::value_type& v, bool& ok) {
  using T = typename H::value_type;
  static_assert(std::is_default_constructible_v<T>,
                "recv(ch, v, ok): v gets T{} (Go's zero value) when ch is closed, so T must be "
                "default-constructible; receive into a std::optional<T> instead");
  return {ch.core(), std::addressof(v), &ok};
}

// send(ch, std::move(v)) moves v if chosen; send(ch, v) copies it if chosen.
template <detail::send_handle H>
send_case<typename H::value_type> send(const H& ch, typename H::value_type&& v) noexcept {
  using T = typename H::value_type;
  return {ch.core(), std::addressof(v), &detail::move_source<T>};
}
template <detail::send_handle H>
send_case<typename H::value_type> send(const H& ch, const typename H::value_type& v) noexcept {
  using T = typename H::value_type;
  detail::require_copyable_send<T>();
  return {ch.core(), const_cast<T*>(std::addressof(v)), &detail::copy_source<T>};
}

// on_recv(ch, f): if chosen, f(std::optional<T>) (empty: closed).
template <detail::recv_handle H, class F>
on_recv_case<typename H::value_type, std::decay_t<F>> on_recv(const H& ch, F&& f) {
  static_assert(std::is_invocable_v<std::decay_t<F>&, std::optional<typename H::value_type>&&>,
                "on_recv: f must be callable with the channel's std::optional<T> (empty once the "
                "channel is closed), e.g. [&](std::optional<T> v) or [&](auto v)");
  return {ch.core(), std::forward<F>(f)};
}

// on_send(ch, v, f): if chosen, v is sent (moved if an rvalue, else
// copied), then f().
template <detail::send_handle H, class F>
on_send_case<typename H::value_type, std::decay_t<F>> on_send(const H& ch, typename H::value_type&& v,
                                                              F&& f) {
  using T = typename H::value_type;
  static_assert(std::is_invocable_v<std::decay_t<F>&>,
                "on_send: f must be callable with no arguments (it runs after the value was sent)");
  return {ch.core(), std::addressof(v), &detail::move_source<T>, std::forward<F>(f)};
}
template <detail::send_handle H, class F>
on_send_case<typename H::value_type, std::decay_t<F>> on_send(const H& ch,
                                                              const typename H::value_type& v, F&& f) {
  using T = typename H::value_type;
  detail::require_copyable_send<T>();
  static_assert(std::is_invocable_v<std::decay_t<F>&>,
                "on_send: f must be callable with no arguments (it runs after the value was sent)");
  return {ch.core(), const_cast<T*>(std::addressof(v)), &detail::copy_source<T>, std::forward<F>(f)};
}

// on_default(f): if no case is ready, f().
template <class F>
on_default_case<std::decay_t<F>> on_default(F&& f) {
  static_assert(std::is_invocable_v<std::decay_t<F>&>, "on_default: f must be callable with no arguments");
  return {std::forward<F>(f)};
}

// ---- dynamic form -------------------------------------------------------

// select_case is one case of a dynamic select (Go's reflect.SelectCase):
// type-erased and copyable; made from any case helper. It holds its channel;
// the send value and receive destination it refers to must outlive the
// select. Copies of an on_* case share its callback.
class select_case {
 public:
  // select_case_tag marks a case type for select().
  using select_case_tag = void;

  // A select_case is made from any case helper's result: recv, send,
  // default_case, on_recv, on_send, on_default.
  template <class T>
  select_case(const recv_case<T>& rc) : c_(rc.c), elem_(rc.dst) {
    if (elem_ == nullptr) {
      // `case <-ch`: the value lands here and is destroyed once the
      // select has released its locks (see recv_case).
      auto s = std::make_shared<std::optional<T>>();
      elem_ = s.get();
      run_ = [](void* p) { static_cast<std::optional<T>*>(p)->reset(); };
      state_ = std::move(s);
    }
    detail::chan_retain(c_);
  }
  template <class T>
  select_case(const send_case<T>& sc) noexcept : c_(sc.c), elem_(sc.v), how_(sc.how), is_send_(true) {
    detail::chan_retain(c_);
  }
  select_case(default_case_t) noexcept : is_default_(true) {}
  template <class T>
  select_case(recv_into_case<T> rc) : c_(rc.c) {
    auto s = std::make_shared<recv_into_case<T>>(std::move(rc));
    elem_ = &s->tmp;
    run_ = [](void* p) { static_cast<recv_into_case<T>*>(p)->chosen(); };
    state_ = std::move(s);
    detail::chan_retain(c_);
  }

  // From on_recv, on_send and on_default: copies share the callback.
  template <class T, class F>
  select_case(on_recv_case<T, F> rc) : c_(rc.c) {
    struct state {
      std::optional<T> v;
      F f;
    };
    auto s = std::make_shared<state>(state{std::nullopt, std::move(rc.f)});
    elem_ = &s->v;
    run_ = [](void* p) {
      auto& st = *static_cast<state*>(p);
      std::optional<T> v = std::move(st.v);
      st.v.reset();
      if constexpr (std::is_invocable_v<F&, std::optional<T>&&>) st.f(std::move(v));
    };
    state_ = std::move(s);
    detail::chan_retain(c_);
  }
  template <class T, class F>
  select_case(on_send_case<T, F> sc) : c_(sc.c), elem_(sc.v), how_(sc.how), is_send_(true) {
    state_ = std::make_shared<F>(std::move(sc.f));
    run_ = [](void* p) {
      if constexpr (std::is_invocable_v<F&>) (*static_cast<F*>(p))();
    };
    detail::chan_retain(c_);
  }
  template <class F>
  select_case(on_default_case<F> dc) : is_default_(true) {
    state_ = std::make_shared<F>(std::move(dc.f));
    run_ = [](void* p) {
      if constexpr (std::is_invocable_v<F&>) (*static_cast<F*>(p))();
    };
  }

  // Copies share the channel and an on_* case's callback.
  select_case(const select_case& o) noexcept
      : c_(o.c_), elem_(o.elem_), how_(o.how_), is_send_(o.is_send_), is_default_(o.is_default_),
        state_(o.state_), run_(o.run_) {
    detail::chan_retain(c_);
  }
  select_case(select_case&& o) noexcept
      : c_(std::exchange(o.c_, nullptr)), elem_(o.elem_), how_(o.how_), is_send_(o.is_send_),
        is_default_(o.is_default_), state_(std::move(o.state_)), run_(o.run_) {}
  select_case& operator=(select_case o) noexcept {
    std::swap(c_, o.c_);
    elem_ = o.elem_;
    how_ = o.how_;
    is_send_ = o.is_send_;
    is_default_ = o.is_default_;
    state_ = std::move(o.state_);
    run_ = o.run_;
    return *this;
  }
  ~select_case() { detail::chan_release(c_); }

  // to_scase and is_default are how select() reads the case; not for
  // direct use.
  detail::scase to_scase() const noexcept { return {c_, elem_, how_, is_send_}; }
  bool is_default() const noexcept { return is_default_; }
  // chosen runs the callback of an on_* case; nothing for the others.
  void chosen() const {
    if (run_) run_(state_.get());
  }

 private:
  detail::chan_core* c_ = nullptr;  // one reference held; null: nil channel or default
  void* elem_ = nullptr;
  const detail::source_ops* how_ = nullptr;
  bool is_send_ = false;
  bool is_default_ = false;
  std::shared_ptr<void> state_;  // an on_* case's callback (and receive storage)
  void (*run_)(void*) = nullptr;
};

// select over a run-time list of cases; returns the chosen index. At most
// one default case (more panic, as reflect.Select does). Allocates scratch
// space only beyond a few cases.
int select(std::span<select_case> cases);

// ---- variadic forms -----------------------------------------------------

// select() with no cases blocks forever (Go's `select {}`).
[[noreturn]] inline void select() { detail::select_forever(); }

namespace detail {
// select_result: int (the index), or the labels' enum when every case has one.
template <class... Cs>
struct select_result {
  using type = int;
};
template <class C, class... Cs>
  requires(labelled_case_like<C> && (labelled_case_like<Cs> && ...))
struct select_result<C, Cs...> {
  using type = typename std::remove_cvref_t<C>::label_type;
};
}  // namespace detail

// select(cases...) runs one ready case, or the default case when none is
// ready and there is one, else blocks until one is ready; it returns the
// chosen case's index (the index form) after running its callback (the
// callback form). Allocates nothing.
template <class... Cs>
  requires(sizeof...(Cs) > 0 && (detail::select_case_like<Cs> && ...))
typename detail::select_result<Cs...>::type select(Cs&&... cs) {
  constexpr int n = static_cast<int>(sizeof...(Cs));
  constexpr int labelled = ((detail::labelled_case_like<Cs> ? 1 : 0) + ...);
  static_assert(labelled == 0 || labelled == n,
                "select: label every case with .as(label), or none (then select returns the index)");
  static_assert(((std::is_same_v<std::remove_cvref_t<Cs>, default_case_t> ? 1 : 0) + ...) <= 1,
                "select: at most one default case");
  const detail::scase cases[n] = {cs.to_scase()...};
  detail::select_slot slots[n];
  int def = -1, defaults = 0, k = 0;
  ((cs.is_default() ? (def = k, ++defaults, ++k) : ++k), ...);
  if (defaults > 1) throw panic("select: multiple default cases");
  int chosen = detail::selectgo(cases, slots, n, def < 0);
  if (chosen < 0) chosen = def;
  k = 0;
  ((k++ == chosen ? cs.chosen() : void()), ...);
  if constexpr (labelled == 0) {
    return chosen;
  } else {
    using L = typename detail::select_result<Cs...>::type;
    static_assert((std::is_same_v<typename std::remove_cvref_t<Cs>::label_type, L> && ...),
                  "select: every case's label must be of the same enum type");
    L result{};
    k = 0;
    ((k++ == chosen ? void(result = cs.label) : void()), ...);
    return result;
  }
}

}  // namespace csp
