// blocking_io — when does runtime::blocking pay? (docs/porting.md,
// "Blocking calls: when runtime::blocking pays")
//
//   GOMAXPROCS=N blocking_io overhead <calls>
//   GOMAXPROCS=N blocking_io files <direct|blocking> <dir> <files> <KiB> [cold]
//   GOMAXPROCS=N blocking_io sleep <direct|blocking> <calls> <us>
//
// overhead: one goroutine makes <calls> runtime::blocking calls of an empty
//   function, then as many plain calls; prints the cost of a call's round
//   trip (park, helper thread, ready) in ns.
// files: the pipelines article's MD5All shape: a walker sends the paths of
//   <files> files of <KiB> KiB in <dir> (created on first use) to 4 ×
//   GOMAXPROCS digesters, each reads its file whole (open, read, close) and
//   hashes it (FNV-1a, standing in for MD5); the read either directly on
//   the worker or inside runtime::blocking. `cold` evicts the files from
//   the page cache first (posix_fadvise DONTNEED: no root needed), so reads
//   go to the disk; otherwise they are read once beforehand (page-cached).
// sleep: <calls> calls that block their thread for <us> µs (nanosleep:
//   a stand-in for a slow disk, NFS, getaddrinfo) spread over 64
//   goroutines, directly or inside runtime::blocking.
//
// Each prints `BENCH <name> <value> <unit>`, as bench/workloads does.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <csp/go.hpp>

using namespace csp;
using clk = std::chrono::steady_clock;

namespace {

double ms_since(clk::time_point t0) {
  return std::chrono::duration<double, std::milli>(clk::now() - t0).count();
}

std::uint64_t fnv1a(const char* p, std::size_t n, std::uint64_t h = 1469598103934665603ULL) {
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ULL;
  return h;
}

// read_whole reads path into buf (resized); false on error.
bool read_whole(const std::string& path, std::vector<char>& buf) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st{};
  ::fstat(fd, &st);
  buf.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < buf.size()) {
    ssize_t r = ::read(fd, buf.data() + got, buf.size() - got);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  return got == buf.size();
}

std::vector<std::string> make_files(const std::string& dir, int n, int kib) {
  ::mkdir(dir.c_str(), 0755);
  std::vector<std::string> paths;
  std::vector<char> data(static_cast<std::size_t>(kib) * 1024);
  for (int i = 0; i < n; ++i) {
    std::string p = dir + "/f" + std::to_string(i) + "_" + std::to_string(kib) + "k";
    struct stat st{};
    if (::stat(p.c_str(), &st) != 0 || st.st_size != static_cast<off_t>(data.size())) {
      for (std::size_t j = 0; j < data.size(); ++j) data[j] = static_cast<char>((i * 131 + j * 7) & 0xff);
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
        std::perror(p.c_str());
        std::exit(1);
      }
      ::fsync(fd);
      ::close(fd);
    }
    paths.push_back(p);
  }
  return paths;
}

void evict(const std::vector<std::string>& paths) {
  for (auto& p : paths) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

int run_overhead(long calls) {
  auto out = make_chan<double>(2);
  go([calls, out] {
    auto t0 = clk::now();
    for (long i = 0; i < calls; ++i) runtime::blocking([] {});
    out << ms_since(t0) * 1e6 / static_cast<double>(calls);
    volatile long sink = 0;
    t0 = clk::now();
    for (long i = 0; i < calls; ++i) sink = sink + i;
    out << ms_since(t0) * 1e6 / static_cast<double>(calls);
  });
  double with = out.recv().value_or(0), without = out.recv().value_or(0);
  std::printf("BENCH blocking_roundtrip %.0f ns\n", with - without);
  return 0;
}

int run_files(bool use_blocking, const std::string& dir, int n, int kib, bool cold) {
  auto paths = make_files(dir, n, kib);
  std::vector<char> warm;
  if (cold) evict(paths);
  else
    for (auto& p : paths) read_whole(p, warm);
  const int digesters = 4 * runtime::gomaxprocs();
  auto t0 = clk::now();
  auto work = make_chan<const std::string*>();
  auto sums = make_chan<std::uint64_t>();
  go([&paths, work] {
    for (auto& p : paths) work << &p;
    work.close();
  });
  for (int i = 0; i < digesters; ++i) {
    go([work, sums, use_blocking] {
      std::vector<char> buf;
      for (const std::string* p : work) {
        bool ok = use_blocking ? runtime::blocking([&] { return read_whole(*p, buf); }) : read_whole(*p, buf);
        sums << (ok ? fnv1a(buf.data(), buf.size()) : 0);
      }
    });
  }
  std::uint64_t x = 0;
  for (int i = 0; i < n; ++i) x ^= sums.recv().value_or(0);
  double ms = ms_since(t0);
  std::printf("BENCH files_%s_%s_%dx%dk_p%d %.1f ms  (xor %016llx)\n", cold ? "cold" : "cached",
              use_blocking ? "blocking" : "direct", n, kib, runtime::gomaxprocs(), ms,
              static_cast<unsigned long long>(x));
  return 0;
}

int run_sleep(bool use_blocking, long calls, long us) {
  const int goroutines = 64;
  auto t0 = clk::now();
  sync::wait_group wg;
  for (int g = 0; g < goroutines; ++g) {
    wg.go([=] {
      for (long i = g; i < calls; i += goroutines) {
        auto call = [us] { std::this_thread::sleep_for(std::chrono::microseconds(us)); };
        if (use_blocking) runtime::blocking(call);
        else call();
      }
    });
  }
  wg.wait();
  std::printf("BENCH sleep_%s_%ldx%ldus_p%d %.1f ms\n", use_blocking ? "blocking" : "direct", calls, us,
              runtime::gomaxprocs(), ms_since(t0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "overhead" && argc == 3) return run_overhead(std::atol(argv[2]));
  if (mode == "files" && (argc == 6 || argc == 7))
    return run_files(std::strcmp(argv[2], "blocking") == 0, argv[3], std::atoi(argv[4]), std::atoi(argv[5]),
                     argc == 7 && std::strcmp(argv[6], "cold") == 0);
  if (mode == "sleep" && argc == 5)
    return run_sleep(std::strcmp(argv[2], "blocking") == 0, std::atol(argv[3]), std::atol(argv[4]));
  std::fprintf(stderr,
               "usage: blocking_io overhead <calls>\n"
               "       blocking_io files <direct|blocking> <dir> <files> <KiB> [cold]\n"
               "       blocking_io sleep <direct|blocking> <calls> <us>\n");
  return 2;
}
