// fork.hpp — what a fork() child may do with csp (fork.cpp).
#pragma once

namespace csp::detail {

// install_fork_check registers the child handler that marks a fork()
// child of a running runtime (debug/fatal.hpp: forked_away). Idempotent;
// called during static initialisation (goroutine.cpp).
void install_fork_check() noexcept;

}  // namespace csp::detail
