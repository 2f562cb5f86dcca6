// cxx20.hpp — the first thing every public header includes: without C++20
// the first error a user sees says so, not one of dozens from deep inside
// the headers.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
#error "csp needs C++20: compile with -std=c++20 (or later)"
#endif
