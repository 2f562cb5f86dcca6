// longest_string — find the longest string in a list, one goroutine per
// string, the results gathered from a channel.
//
// The Go shape:
//
//   func longest(words []string) string {
//       type measured struct{ index, length int }
//       results := make(chan measured)
//       for i, w := range words {
//           go func(i int, w string) { results <- measured{i, len(w)} }(i, w)
//       }
//       best := measured{-1, -1}
//       for range words {                     // exactly one result per goroutine
//           m := <-results
//           if m.length > best.length || (m.length == best.length && m.index < best.index) {
//               best = m
//           }
//       }
//       if best.index < 0 { return "" }
//       return words[best.index]
//   }
//
// Results arrive in any order; breaking ties by the lower index makes the
// answer the same as a sequential scan's (the first of the longest). The
// caller receives exactly as many results as it started goroutines, so
// none is left blocked on its send. Measuring a string is far too little
// work to be worth a goroutine; the shape is what carries over to real work.
#include <csp/go.hpp>

#include <cstdio>
#include <string>
#include <vector>

using namespace csp;

std::string longest(const std::vector<std::string>& words) {
  struct measured {
    int index = -1;
    int length = -1;
  };
  auto results = make_chan<measured>();
  for (int i = 0; i < static_cast<int>(words.size()); ++i) {
    // words outlives every goroutine: longest() receives all their results
    // before it returns, so capturing it by reference is safe here.
    go([&words, results, i] { results << measured{i, static_cast<int>(words[i].size())}; });
  }
  measured best;
  for (std::size_t n = 0; n < words.size(); ++n) {
    measured m = *results.recv();
    if (m.length > best.length || (m.length == best.length && m.index < best.index)) best = m;
  }
  return best.index < 0 ? "" : words[best.index];
}

void show(const std::vector<std::string>& words) {
  std::printf("%zu words -> \"%s\"\n", words.size(), longest(words).c_str());
}

int main() {
  show({"go", "channel", "select", "goroutine", "defer"});
  show({"tie", "one", "two", "six"});  // all the same length: the first wins
  show({});
  show({"a", "", "abc", "ab", "abcd", "abc", "abcd"});

  // A longer list: word k is k % 97 x's, then '#' and k. The check
  // (test/check_example.py) builds the same list and scans it in order.
  std::vector<std::string> many;
  for (int k = 0; k < 1000; ++k) many.push_back(std::string(k % 97, 'x') + "#" + std::to_string(k));
  std::string w = longest(many);
  std::printf("1000 words -> %zu letters, word %s\n", w.size(), w.substr(w.find('#') + 1).c_str());
  return 0;
}
