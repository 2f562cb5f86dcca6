// once.cpp — sync::once, Go's sync.Once (src/sync/once.go).
//
// once::call is a template (it runs the caller's f), so its whole body is
// in csp/sync.hpp: a fast-path acquire load of done_, and a slow path that
// takes m_, re-checks done_ and runs f with done_ stored on the way out,
// whether f returns or throws (Go's `defer o.done.Store(1)`).
//
// Invariant: done_ becomes 1 only while m_ is held and after f has finished,
// so every call() that returns has either run f or waited on m_ until the
// one that did finished (Go's guarantee: "no call to Do returns until the
// one call to f returns").
//
// Why Go, and this, do not use a CAS on done_ as the fast path: a caller
// that lost the CAS would return before f finished, and then see f's work
// half done. This file only anchors the layout checks.
#include <csp/sync.hpp>

namespace csp::sync {

static_assert(sizeof(mutex) == 8, "sync::mutex is two 32-bit words, as Go's");
static_assert(sizeof(once) == 12, "sync::once is a done word and a mutex");
static_assert(sizeof(wait_group) == 16, "sync::wait_group is a state word and a semaphore");
static_assert(sizeof(cond) == 8, "sync::cond is the two words of a notify list");

}  // namespace csp::sync
