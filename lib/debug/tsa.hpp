// tsa.hpp — clang thread-safety-analysis annotations (no-ops under g++).
//
// Each guarded field names its guard (CSP_GUARDED_BY) and each function that
// needs a lock held says so (CSP_REQUIRES), so a clang build checks what the
// comments claim.
#pragma once

#if defined(__clang__)
#define CSP_TSA(x) __attribute__((x))
#else
#define CSP_TSA(x)
#endif

#define CSP_CAPABILITY(name) CSP_TSA(capability(name))
#define CSP_GUARDED_BY(m) CSP_TSA(guarded_by(m))
#define CSP_PT_GUARDED_BY(m) CSP_TSA(pt_guarded_by(m))
#define CSP_REQUIRES(...) CSP_TSA(requires_capability(__VA_ARGS__))
#define CSP_ACQUIRE(...) CSP_TSA(acquire_capability(__VA_ARGS__))
#define CSP_RELEASE(...) CSP_TSA(release_capability(__VA_ARGS__))
#define CSP_TRY_ACQUIRE(...) CSP_TSA(try_acquire_capability(__VA_ARGS__))
#define CSP_EXCLUDES(...) CSP_TSA(locks_excluded(__VA_ARGS__))
#define CSP_ASSERT_CAPABILITY(...) CSP_TSA(assert_capability(__VA_ARGS__))
#define CSP_NO_TSA CSP_TSA(no_thread_safety_analysis)
#define CSP_RETURN_CAPABILITY(x) CSP_TSA(lock_returned(x))
