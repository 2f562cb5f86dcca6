// source_location.hpp — std::source_location where the compiler has it, else
// a stand-in with the same interface built on the __builtin_FILE family
// (clang before 15 with libstdc++ lacks __builtin_source_location, so
// libstdc++ leaves std::source_location out; clang 14 builds the fuzzer).
#pragma once

#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
namespace csp::detail {
using source_location = std::source_location;
}  // namespace csp::detail
#else
namespace csp::detail {
class source_location {
 public:
  static constexpr source_location current(const char* file = __builtin_FILE(),
                                           const char* function = __builtin_FUNCTION(),
                                           unsigned line = __builtin_LINE()) noexcept {
    source_location l;
    l.file_ = file;
    l.function_ = function;
    l.line_ = line;
    return l;
  }
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr unsigned line() const noexcept { return line_; }
  constexpr unsigned column() const noexcept { return 0; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  unsigned line_ = 0;
};
}  // namespace csp::detail
#endif
