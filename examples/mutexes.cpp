// mutexes — shared state guarded by a lock.
//
// The Go shape:
//
//   type container struct {
//       mu       sync.Mutex
//       counters map[string]int
//   }
//
//   func (c *container) inc(name string) {
//       c.mu.Lock()
//       defer c.mu.Unlock()
//       c.counters[name]++
//   }
//
//   c := container{counters: map[string]int{"a": 0, "b": 0}}
//   var wg sync.WaitGroup
//   doIncrement := func(name string, n int) {
//       for i := 0; i < n; i++ { c.inc(name) }
//       wg.Done()
//   }
//   wg.Add(3)
//   go doIncrement("a", 10000)
//   go doIncrement("a", 10000)
//   go doIncrement("b", 10000)
//   wg.Wait()
//   fmt.Println(c.counters)                   // map[a:20000 b:10000]
//
// sync::mutex parks a goroutine that has to wait (its worker runs others)
// and works with std::lock_guard, which is the C++ spelling of
// Lock + defer Unlock.
#include <csp/go.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

using namespace csp;

class container {
 public:
  void inc(const std::string& name) {
    std::lock_guard lock(mu_);
    counters_[name]++;
  }
  std::map<std::string, int> snapshot() {
    std::lock_guard lock(mu_);
    return counters_;
  }

 private:
  sync::mutex mu_;
  std::map<std::string, int> counters_;  // guarded by mu_
};

int main() {
  container c;
  sync::wait_group wg;
  auto do_increment = [&](const std::string& name, int n) {
    for (int i = 0; i < n; ++i) c.inc(name);
    wg.done();
  };
  wg.add(3);
  go(do_increment, std::string("a"), 10000);
  go(do_increment, std::string("a"), 10000);
  go(do_increment, std::string("b"), 10000);
  wg.wait();

  for (const auto& [name, count] : c.snapshot()) std::printf("%s: %d\n", name.c_str(), count);
  return 0;
}
