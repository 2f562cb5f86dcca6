// select — waiting on several channels at once.
//
// The Go shape:
//
//   for a != nil || b != nil {
//       select {
//       case v, ok := <-a:
//           if !ok { a = nil; continue }      // a nil channel is never chosen
//           fromA = append(fromA, v)
//       case v, ok := <-b:
//           if !ok { b = nil; continue }
//           fromB = append(fromB, v)
//       }
//   }
//
// Two producers send at the same time; select takes whichever value is
// ready (at random when both are), so the interleaving differs between
// runs. What each channel delivered, and in which order, does not: that is
// what is printed. Setting a closed channel's variable to nil takes its
// case out of the select — the usual way to drain several channels.
#include <csp/go.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using namespace csp;

// produce sends first, first+1, ..., first+n-1 on out, then closes it.
void produce(send_only<int> out, int first, int n) {
  for (int i = 0; i < n; ++i) out << first + i;
  out.close();
}

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += " " + std::to_string(x);
  return s;
}

int main() {
  chan<int> a = make_chan<int>();
  chan<int> b = make_chan<int>();
  go(produce, a, 100, 4);
  go(produce, b, 200, 4);

  std::vector<int> from_a, from_b;
  int receives = 0;
  while (a || b) {  // a chan is true unless nil
    std::optional<int> v;
    switch (select(recv(a, v), recv(b, v))) {
      case 0:
        if (!v) { a = nullptr; continue; }  // closed: stop selecting on it
        from_a.push_back(*v);
        break;
      case 1:
        if (!v) { b = nullptr; continue; }
        from_b.push_back(*v);
        break;
    }
    ++receives;
  }
  std::printf("from a:%s\n", join(from_a).c_str());
  std::printf("from b:%s\n", join(from_b).c_str());
  std::printf("%d values, both channels closed\n", receives);
  return 0;
}
