// range_over_channels — a for loop that receives until the channel closes.
//
// The Go shape:
//
//   queue := make(chan string, 2)
//   queue <- "one"
//   queue <- "two"
//   close(queue)
//   for elem := range queue { fmt.Println(elem) }
//
//   squares := make(chan int)
//   go func() {
//       defer close(squares)                  // ends the consumer's range
//       for i := 1; i <= 5; i++ { squares <- i * i }
//   }()
//   for s := range squares { fmt.Println(s) }
//
// A range loop over a channel that is never closed never ends: whoever
// sends the last value closes.
#include <csp/go.hpp>

#include <cstdio>
#include <string>

using namespace csp;

int main() {
  auto queue = make_chan<std::string>(2);
  queue << "one";
  queue << "two";
  queue.close();  // the buffered values are still delivered
  for (const std::string& elem : queue) std::printf("%s\n", elem.c_str());

  auto squares = make_chan<int>();
  go([squares] {
    defer d{[&] { squares.close(); }};
    for (int i = 1; i <= 5; ++i) squares << i * i;
  });
  for (int s : squares) std::printf("%d\n", s);
  return 0;
}
