// goroutines — a call, then the same function run as two goroutines.
//
// The Go shape:
//
//   func count(name string, n int) {
//       for i := 1; i <= n; i++ { fmt.Println(name, i) }
//   }
//
//   count("direct", 3)                       // runs to the end before going on
//   var wg sync.WaitGroup
//   wg.Add(2)
//   go func() { defer wg.Done(); count("first", 3) }()
//   go func(name string) { defer wg.Done(); count(name, 3) }("second")
//   wg.Wait()
//
// The direct call's lines come first and in order. The two goroutines run
// at the same time, so their lines interleave differently from run to run;
// only each goroutine's own lines keep their order. (The check knows that:
// test/check_example.py.)
#include <csp/go.hpp>

#include <cstdio>
#include <string>

using namespace csp;

// count prints "name i" for i = 1..n. printf writes each line whole, even
// from several threads at once.
void count(const std::string& name, int n) {
  for (int i = 1; i <= n; ++i) std::printf("%s %d\n", name.c_str(), i);
}

int main() {
  count("direct", 3);

  sync::wait_group wg;
  wg.add(2);
  go([&wg] {
    defer d{[&] { wg.done(); }};
    count("first", 3);
  });
  // Arguments are copied into the goroutine, as Go evaluates them at the
  // go statement: the goroutine owns its own std::string.
  go([&wg](std::string name) {
    defer d{[&] { wg.done(); }};
    count(name, 3);
  }, std::string("second"));
  wg.wait();  // without it, main could return first and end the program

  std::printf("done\n");
  return 0;
}
