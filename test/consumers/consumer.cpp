// consumer.cpp — a program built against an installed csp, as a user
// builds one (scripts/test.sh: through pkg-config, CMake's find_package
// and a Meson subproject). Exits 0 when a goroutine's value arrives and
// the version header agrees with the library's soname.
#include <csp/go.hpp>
#include <csp/version.hpp>

#include <cstdio>

static_assert(CSP_VERSION == CSP_VERSION_MAJOR * 10000 + CSP_VERSION_MINOR * 100 + CSP_VERSION_PATCH);

int main() {
  auto ch = csp::make_chan<int>();
  csp::sync::wait_group wg;
  wg.add(1);
  csp::go([ch, &wg] {
    csp::defer d{[&] { wg.done(); }};
    ch << 42;
  });
  int v = ch.recv().value_or(0);
  wg.wait();
  std::printf("consumer got %d from csp %s\n", v, CSP_VERSION_STRING);
  return v == 42 ? 0 : 1;
}
