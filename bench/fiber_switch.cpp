// fiber_switch.cpp — the measurement behind the choice of Boost.Context
// layer (docs/runtime.md, "Stacks"): a raw fcontext switch against a
// boost::context::fiber switch, each a ping-pong between two contexts.
//
//   build/.../bench/fiber_switch [switches]
//
// Prints BENCH fcontext_switch and BENCH boost_fiber_class_switch, ns per
// one-way switch.
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace bctx = boost::context::detail;

namespace {

void bounce(bctx::transfer_t t) {
  for (;;) t = bctx::jump_fcontext(t.fctx, nullptr);
}

template <class F>
double ns_per_switch(long round_trips, F&& body) {
  auto start = std::chrono::steady_clock::now();
  body();
  auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(stop - start).count() / (2.0 * round_trips);
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 10'000'000;
  static char stack[64 * 1024];
  bctx::transfer_t t{bctx::make_fcontext(stack + sizeof stack, sizeof stack, bounce), nullptr};
  double raw = ns_per_switch(n, [&] {
    for (long i = 0; i < n; ++i) t = bctx::jump_fcontext(t.fctx, nullptr);
  });
  namespace ctx = boost::context;
  ctx::fiber f{[](ctx::fiber&& back) {
    for (;;) back = std::move(back).resume();
    return std::move(back);
  }};
  double cls = ns_per_switch(n, [&] {
    for (long i = 0; i < n; ++i) f = std::move(f).resume();
  });
  std::printf("BENCH fcontext_switch %.2f ns/switch\nBENCH boost_fiber_class_switch %.2f ns/switch\n",
              raw, cls);
}
