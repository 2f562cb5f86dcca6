// prime_sieve — the concurrent prime sieve: a daisy chain of filter
// goroutines, one per prime found so far.
//
// The Go program it ports (from the Go tour and "Go Concurrency Patterns"):
//
//   func generate(ch chan<- int) {
//       for i := 2; ; i++ { ch <- i }
//   }
//
//   func filter(in <-chan int, out chan<- int, prime int) {
//       for {
//           i := <-in
//           if i%prime != 0 { out <- i }
//       }
//   }
//
//   func main() {
//       ch := make(chan int)
//       go generate(ch)
//       for i := 0; i < n; i++ {
//           prime := <-ch
//           fmt.Println(prime)
//           ch1 := make(chan int)
//           go filter(ch, ch1, prime)
//           ch = ch1
//       }
//   }
//
// Usage: prime_sieve [n]   prints the first n primes (default 10), one a line.
// Every channel is unbuffered, so each number is handed from goroutine to
// goroutine through n rendezvous. When main returns, the generator and the
// filters are still blocked in send: they are abandoned, as in Go.
#include <csp/go.hpp>

#include <cstdio>
#include <cstdlib>

using namespace csp;

// generate sends 2, 3, 4, ... to ch, forever.
void generate(send_only<int> ch) {
  for (int i = 2;; ++i) ch << i;
}

// filter copies the values from in to out, dropping those divisible by prime.
void filter(recv_only<int> in, send_only<int> out, int prime) {
  for (;;) {
    int i = in.recv().value_or(0);
    if (i % prime != 0) out << i;
  }
}

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 10;
  if (n < 0) {
    std::fprintf(stderr, "usage: %s [n >= 0]\n", argv[0]);
    return 2;
  }

  auto ch = make_chan<int>();
  go(generate, ch);
  for (int i = 0; i < n; ++i) {
    int prime = ch.recv().value_or(0);
    std::printf("%d\n", prime);
    auto ch1 = make_chan<int>();
    go(filter, ch, ch1, prime);
    ch = ch1;
  }
  return 0;
}
