// csp/detail/spawn.hpp — the type-erased entry point behind csp::go.
//
// go() packs the callable and its decay-copied arguments into a closure that
// lives inside the goroutine's control block when small (no allocation), and
// on the heap otherwise. The runtime owns the control block from
// new_goroutine() on.
#pragma once

#include <cstddef>

#include "csp/detail/source_location.hpp"

namespace csp::detail {

struct goroutine;

// closure_fn runs the closure at `closure`, then destroys it. It is called
// once, on the goroutine's own stack.
using closure_fn = void (*)(void* closure);

// new_goroutine allocates a control block with room for a closure of the
// given size and alignment and returns the closure's storage in *storage.
// The goroutine is not yet visible to anyone: construct the closure there,
// then call start_goroutine(), or discard_goroutine() if construction threw.
goroutine* new_goroutine(std::size_t size, std::size_t align, void** storage,
                         const csp::detail::source_location& created_at);

// start_goroutine makes g runnable. Any thread.
void start_goroutine(goroutine* g, closure_fn run) noexcept;

// discard_goroutine frees a control block whose closure was never constructed.
void discard_goroutine(goroutine* g) noexcept;

}  // namespace csp::detail
