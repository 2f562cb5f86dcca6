// csp/chan.hpp — channels: chan<T>, send_only<T>, recv_only<T>, make_chan.
//
// A channel handle is a reference-counted pointer to one type-erased
// channel (lib/chan/chan_core.hpp, Go's hchan): copying a handle shares the
// channel, a default-constructed handle is the nil channel. The handles
// adapt T to the core; send, recv and range-for first try the common cases
// inline for T (csp/detail/chan_fast_path.hpp), everything else is in lib/.
//
// Every operation works from goroutines and plain threads alike; a blocking
// one parks the goroutine (or blocks the thread).
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "csp/detail/chan_core.hpp"
#include "csp/detail/chan_fast_path.hpp"

namespace csp {

// unit is the element of a channel used only to signal: Go's struct{}.
struct unit {
  // All units are equal.
  friend constexpr bool operator==(unit, unit) noexcept { return true; }
};

template <class T = unit>
class chan;
template <class T = unit>
class send_only;
template <class T = unit>
class recv_only;
template <class T = unit>
chan<T> make_chan(std::size_t capacity = 0);

namespace detail {

// chan_handle owns one reference to a channel (or none: nil). The typed
// handles derive from it and add the operations their direction allows.
class chan_handle {
 public:
  chan_handle() noexcept = default;
  chan_handle(const chan_handle& o) noexcept : c_(o.c_) { chan_retain(c_); }
  chan_handle(chan_handle&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  chan_handle& operator=(const chan_handle& o) noexcept {
    chan_retain(o.c_);  // first: o may be *this
    chan_release(std::exchange(c_, o.c_));
    return *this;
  }
  chan_handle& operator=(chan_handle&& o) noexcept {
    if (this != &o) chan_release(std::exchange(c_, std::exchange(o.c_, nullptr)));
    return *this;
  }
  // The destructor leaves the pointer null (an atomic store, so the
  // compiler cannot drop it as a store to a dying object): a destroyed
  // handle's bytes, say in a reset std::optional inside a goroutine's
  // closure, never look like a handle to the leak check (lib/chan/leak.cpp).
  ~chan_handle() {
    chan_release(c_);
    __atomic_store_n(&c_, nullptr, __ATOMIC_RELAXED);
  }

  // core is the channel, or null for nil. For the facades (select.hpp).
  chan_core* core() const noexcept { return c_; }

 protected:
  explicit chan_handle(chan_core* adopt) noexcept : c_(adopt) {}

  chan_core* c_ = nullptr;
};

// recv_value receives from c into a fresh optional (empty: closed and drained).
template <class T>
std::optional<T> recv_value(chan_core* c) {
  std::optional<T> v;
  fast_recv(c, v);
  return v;
}

template <class T>
std::optional<T> try_recv_value(chan_core* c) {
  std::optional<T> v;
  chan_try_recv(c, &v);
  return v;
}

// chan_iterator drives range-for: each step receives; the range ends when
// the channel is closed and drained. *it yields the value by move, so
// move-only T works; dereference each position once.
template <class T>
class chan_iterator {
 public:
  using value_type = T;
  using difference_type = std::ptrdiff_t;

  chan_iterator() = default;
  explicit chan_iterator(chan_core* c) : c_(c) { ++*this; }

  T operator*() { return std::move(*cur_); }
  chan_iterator& operator++() {
    cur_.reset();
    fast_recv(c_, cur_);
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const chan_iterator& it, std::default_sentinel_t) noexcept { return !it.cur_; }

 private:
  chan_core* c_ = nullptr;  // the range's handle keeps the channel alive
  std::optional<T> cur_;
};

}  // namespace detail

// chan<T> is a bidirectional channel handle (Go's chan T). All operations
// are const: a chan is a handle, so a lambda that captured it by copy can
// use it.
template <class T>
class chan : public detail::chan_handle {
  static_assert(!std::is_reference_v<T> && std::is_object_v<T> && !std::is_const_v<T>,
                "chan<T> needs a non-const object type");
  static_assert(std::is_nothrow_destructible_v<T>, "chan<T> needs a non-throwing destructor");

 public:
  // value_type is T; iterator and sentinel make a chan a range (see begin).
  using value_type = T;
  using iterator = detail::chan_iterator<T>;
  using sentinel = std::default_sentinel_t;

  // chan() is the nil channel: sends and receives block forever.
  chan() noexcept = default;
  chan(std::nullptr_t) noexcept {}

  // send blocks until a receiver took v (unbuffered) or v is buffered.
  // Throws csp::panic("send on closed channel") if the channel is closed,
  // or becomes closed while waiting.
  void send(T v) const { detail::fast_send(c_, v); }
  const chan& operator<<(T v) const {
    send(std::move(v));
    return *this;
  }

  // recv blocks until a value arrives; empty once closed and drained.
  std::optional<T> recv() const { return detail::recv_value<T>(c_); }
  // operator>> receives into out; false (and out = T{}) when closed and drained.
  bool operator>>(T& out) const
    requires std::is_default_constructible_v<T>
  {
    std::optional<T> v = recv();
    out = v ? std::move(*v) : T{};
    return v.has_value();
  }

  // try_send sends if that needs no waiting; v is moved from (or copied)
  // only on success. Panics if closed, as Go's select-with-default does.
  bool try_send(T&& v) const {
    return detail::chan_try_send(c_, std::addressof(v), &detail::move_source<T>);
  }
  bool try_send(const T& v) const
    requires std::is_copy_constructible_v<T>
  {
    return detail::chan_try_send(c_, const_cast<T*>(std::addressof(v)), &detail::copy_source<T>);
  }
  // try_recv receives if a value is ready; empty when none is, or when
  // closed and drained (select with default_case tells them apart).
  std::optional<T> try_recv() const { return detail::try_recv_value<T>(c_); }

  // close: receivers get the buffered values, then "closed"; blocked
  // senders panic. Throws csp::panic if nil or already closed.
  void close() const { detail::chan_close(c_); }
  // len is the number of values in the buffer, cap the buffer's size:
  // Go's len(ch) and cap(ch); both 0 for a nil channel.
  std::size_t len() const noexcept { return detail::chan_len(c_); }
  std::size_t cap() const noexcept { return detail::chan_cap(c_); }

  // A handle is false when nil; handles are equal when they refer to the
  // same channel, as Go's == on channels.
  explicit operator bool() const noexcept { return c_ != nullptr; }
  friend bool operator==(const chan& a, const chan& b) noexcept { return a.c_ == b.c_; }
  friend bool operator==(const chan& a, std::nullptr_t) noexcept { return a.c_ == nullptr; }

  // range-for receives until the channel is closed and drained.
  iterator begin() const { return iterator(c_); }
  sentinel end() const noexcept { return {}; }

 private:
  template <class U>
  friend chan<U> make_chan(std::size_t);
  explicit chan(detail::chan_core* adopt) noexcept : chan_handle(adopt) {}
};

// make_chan returns a new channel with room for `capacity` buffered values
// (0: unbuffered, every send a rendezvous with a receiver).
template <class T>
chan<T> make_chan(std::size_t capacity) {
  return chan<T>(detail::chan_make(&detail::elem_ops_for<T>, capacity));
}

// send_only<T> is Go's chan<- T: send, try_send, close, len, cap.
template <class T>
class send_only : public detail::chan_handle {
 public:
  // value_type is T.
  using value_type = T;

  // send_only() is the nil channel; a chan<T> converts to a send_only<T>,
  // as Go assigns a chan T to a chan<- T.
  send_only() noexcept = default;
  send_only(std::nullptr_t) noexcept {}
  send_only(const chan<T>& c) noexcept : chan_handle(c) {}
  send_only(chan<T>&& c) noexcept : chan_handle(std::move(c)) {}

  // send, <<, try_send, close, len and cap are chan<T>'s.
  void send(T v) const { detail::fast_send(c_, v); }
  const send_only& operator<<(T v) const {
    send(std::move(v));
    return *this;
  }
  bool try_send(T&& v) const {
    return detail::chan_try_send(c_, std::addressof(v), &detail::move_source<T>);
  }
  bool try_send(const T& v) const
    requires std::is_copy_constructible_v<T>
  {
    return detail::chan_try_send(c_, const_cast<T*>(std::addressof(v)), &detail::copy_source<T>);
  }
  void close() const { detail::chan_close(c_); }
  std::size_t len() const noexcept { return detail::chan_len(c_); }
  std::size_t cap() const noexcept { return detail::chan_cap(c_); }

  // False when nil; equal when both refer to the same channel.
  explicit operator bool() const noexcept { return c_ != nullptr; }
  friend bool operator==(const send_only& a, const send_only& b) noexcept { return a.c_ == b.c_; }
  friend bool operator==(const send_only& a, std::nullptr_t) noexcept { return a.c_ == nullptr; }
};

// recv_only<T> is Go's <-chan T: recv, >>, try_recv, range-for, len, cap.
template <class T>
class recv_only : public detail::chan_handle {
 public:
  // value_type is T; iterator and sentinel make it a range.
  using value_type = T;
  using iterator = detail::chan_iterator<T>;
  using sentinel = std::default_sentinel_t;

  // recv_only() is the nil channel; a chan<T> converts to a recv_only<T>,
  // as Go assigns a chan T to a <-chan T.
  recv_only() noexcept = default;
  recv_only(std::nullptr_t) noexcept {}
  recv_only(const chan<T>& c) noexcept : chan_handle(c) {}
  recv_only(chan<T>&& c) noexcept : chan_handle(std::move(c)) {}

  // recv, >>, try_recv, len and cap are chan<T>'s.
  std::optional<T> recv() const { return detail::recv_value<T>(c_); }
  bool operator>>(T& out) const
    requires std::is_default_constructible_v<T>
  {
    std::optional<T> v = recv();
    out = v ? std::move(*v) : T{};
    return v.has_value();
  }
  std::optional<T> try_recv() const { return detail::try_recv_value<T>(c_); }
  std::size_t len() const noexcept { return detail::chan_len(c_); }
  std::size_t cap() const noexcept { return detail::chan_cap(c_); }

  // False when nil; equal when both refer to the same channel.
  explicit operator bool() const noexcept { return c_ != nullptr; }
  friend bool operator==(const recv_only& a, const recv_only& b) noexcept { return a.c_ == b.c_; }
  friend bool operator==(const recv_only& a, std::nullptr_t) noexcept { return a.c_ == nullptr; }

  // range-for receives until the channel is closed and drained.
  iterator begin() const { return iterator(c_); }
  sentinel end() const noexcept { return {}; }
};

}  // namespace csp
