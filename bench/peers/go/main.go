// Command go-peers: the Go side of csp's side-by-side benchmarks.
//
// Usage:  GOMAXPROCS=<N> go-peers <workload>|all [n]
//
// Prints one line per metric, "BENCH <name>_p<GOMAXPROCS> <value> <unit>",
// with the same names, default sizes, units and definitions as csp's
// bench/workloads.cpp (the definitions are those of the project's Go
// anchors, shared/anchors/go/README.md). Standard library only, so
// `go build` works offline with Debian's golang-go (Go 1.19).
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type workload struct {
	n   float64 // default size
	run func(n int)
}

var workloads = map[string]workload{
	"spawn_join":           {1e6, spawnJoin},        // goroutines
	"pingpong_unbuffered":  {5e6, pingpongUnbuf},    // round trips
	"chan_buffered_spsc":   {1e7, chanBufferedSPSC}, // items
	"chan_mpmc":            {2e7, chanMPMC},         // items in total
	"chan_unbuffered_mpmc": {5e6, chanUnbufMPMC},    // items in total
	"select_4":             {1e7, select4},          // items in total
	"select_timeout":       {2e6, selectTimeout},    // select operations
	"select_timeout_stop":  {4e6, selectTimeoutStop},
	"mem_parked":           {1e6, memParked},      // goroutines
	"mem_parked_real":      {5e5, memParkedReal},  // goroutines
	"mutex_contended":      {1e6, mutexContended}, // increments per goroutine
	"prime_sieve":          {5e3, primeSieve},     // primes
	"wg_fanout":            {1e4, wgFanout},       // goroutines per round
	"skynet":               {1e6, skynet},         // leaves (a power of 10)
	"context_switch":       {5e6, contextSwitch},  // yields per goroutine
	"daisy_chain":          {1e5, daisyChain},     // links
	"main_recv":            {1e6, mainRecv},       // items per run
	"spawn_from_main":      {1e5, spawnFromMain},  // goroutines
	"doubleselect":         {3e5, doubleSelect("doubleselect")},
	"doubleselect_main":    {3e5, doubleSelect("doubleselect_main")},
	"udp_pingpong":         {1e5, udpPingpong},  // round trips
	"unix_pingpong":        {1e5, unixPingpong}, // round trips
	"plain_threads":        {4e5, plainThreads}, // goroutines in total
	"idle_cpu":             {10, nil},           // seconds (see idleCPU)
}

var procs = runtime.GOMAXPROCS(0)

func report(name string, value float64, unit string) {
	fmt.Printf("BENCH %s_p%d %.1f %s\n", name, procs, value, unit)
}

func nsPer(start time.Time, ops int) float64 {
	return float64(time.Since(start).Nanoseconds()) / float64(ops)
}

func msSince(start time.Time) float64 {
	return float64(time.Since(start).Nanoseconds()) / 1e6
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "go-peers: "+format+"\n", a...)
	os.Exit(1)
}

// spawnJoin: n goroutines that each call wg.Done(), twice; the second
// round reuses the runtime's cached goroutines and stacks.
func spawnJoin(n int) {
	for _, name := range []string{"spawn_join", "spawn_join_warm"} {
		var wg sync.WaitGroup
		start := time.Now()
		wg.Add(n)
		for i := 0; i < n; i++ {
			go wg.Done()
		}
		wg.Wait()
		report(name, nsPer(start, n), "ns/goroutine")
	}
}

func pingpongUnbuf(n int) {
	ping, pong := make(chan int), make(chan int)
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			ping <- i
			<-pong
		}
		close(ping)
	}()
	go func() {
		defer wg.Done()
		for v := range ping {
			pong <- v
		}
	}()
	wg.Wait()
	report("pingpong_unbuffered", nsPer(start, n), "ns/roundtrip")
}

func chanBufferedSPSC(n int) {
	ch, done := make(chan int, 128), make(chan int)
	start := time.Now()
	go func() {
		for i := 0; i < n; i++ {
			ch <- i
		}
		close(ch)
	}()
	go func() {
		sum := 0
		for v := range ch {
			sum += v
		}
		done <- sum
	}()
	if <-done != n*(n-1)/2 {
		fail("chan_buffered_spsc: bad sum")
	}
	report("chan_buffered_spsc", nsPer(start, n), "ns/item")
}

// mpmc: 4 producers with n/4 items each, 4 consumers, one channel of the
// given capacity, closed after the producers finish; ns per item.
func mpmc(n, capacity int) float64 {
	const P, C = 4, 4
	each := n / P
	ch := make(chan int, capacity)
	var prod, cons sync.WaitGroup
	var total atomic.Int64
	prod.Add(P)
	cons.Add(C)
	start := time.Now()
	for p := 0; p < P; p++ {
		go func() {
			for i := 0; i < each; i++ {
				ch <- i
			}
			prod.Done()
		}()
	}
	for c := 0; c < C; c++ {
		go func() {
			sum := 0
			for v := range ch {
				sum += v
			}
			total.Add(int64(sum))
			cons.Done()
		}()
	}
	prod.Wait()
	close(ch)
	cons.Wait()
	r := nsPer(start, each*P)
	if total.Load() != int64(P*(each*(each-1)/2)) {
		fail("mpmc: bad sum")
	}
	return r
}

func chanMPMC(n int)      { report("chan_mpmc", mpmc(n, 1024), "ns/item") }
func chanUnbufMPMC(n int) { report("chan_unbuffered_mpmc", mpmc(n, 0), "ns/item") }

// select4: one receiver selects over 4 cap-128 channels with a producer
// each; a closed channel is set to nil. Clock starts after the launches.
func select4(n int) {
	var chs [4]chan int
	for i := range chs {
		chs[i] = make(chan int, 128)
		go func(c chan int) {
			for j := 0; j < n/4; j++ {
				c <- j
			}
			close(c)
		}(chs[i])
	}
	start := time.Now()
	c0, c1, c2, c3 := chs[0], chs[1], chs[2], chs[3]
	sum, got := 0, 0
	for open := 4; open > 0; {
		var v int
		var ok bool
		select {
		case v, ok = <-c0:
			if !ok {
				c0 = nil
			}
		case v, ok = <-c1:
			if !ok {
				c1 = nil
			}
		case v, ok = <-c2:
			if !ok {
				c2 = nil
			}
		case v, ok = <-c3:
			if !ok {
				c3 = nil
			}
		}
		if !ok {
			open--
			continue
		}
		sum += v
		got++
	}
	if got != n/4*4 {
		fail("select_4: lost items")
	}
	report("select_4", nsPer(start, got), "ns/item")
}

// selectTimeout: a send on a cap-1 channel, then a select between it and
// time.After(1h). Go <= 1.22 keeps every such timer until it fires.
func selectTimeout(n int) {
	ch := make(chan int, 1)
	sum := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		ch <- i
		select {
		case v := <-ch:
			sum += v
		case <-time.After(time.Hour):
		}
	}
	report("select_timeout", nsPer(start, n), "ns/op")
}

// selectTimeoutStop: the same with NewTimer and Stop (cancel on win).
func selectTimeoutStop(n int) {
	ch := make(chan int, 1)
	sum := 0
	start := time.Now()
	for i := 0; i < n; i++ {
		ch <- i
		t := time.NewTimer(time.Hour)
		select {
		case v := <-ch:
			sum += v
		case <-t.C:
		}
		t.Stop()
	}
	report("select_timeout_stop", nsPer(start, n), "ns/op")
}

// statusKiB reads a "Key:  N kB" field of /proc/self/status, in KiB.
func statusKiB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		fail("%v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == field {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb
		}
	}
	fail("/proc/self/status: %s not found", field)
	return 0
}

// vmRSS reads VmRSS from /proc/self/status, in bytes.
func vmRSS() int64 { return statusKiB("VmRSS:") * 1024 }

// memParked: n goroutines parked in <-ch on one channel; growth of
// MemStats.Sys and of RSS per goroutine; then close(ch) releases them.
func memParked(n int) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	rss0 := vmRSS()
	ch := make(chan struct{})
	var parked, exited sync.WaitGroup
	parked.Add(n)
	exited.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			parked.Done()
			<-ch
			exited.Done()
		}()
	}
	parked.Wait()
	time.Sleep(100 * time.Millisecond) // the last few reach <-ch
	runtime.ReadMemStats(&m1)
	rss1 := vmRSS()
	report("mem_parked_sys", float64(m1.Sys-m0.Sys)/float64(n), "bytes/goroutine")
	report("mem_parked_rss", float64(rss1-rss0)/float64(n), "bytes/goroutine")
	close(ch)
	exited.Wait()
}

// memParkedReal: n goroutines parked through the common operations from
// ordinary closures, a fifth each: ranging over a channel of strings, a
// select loop over that channel and a quit channel, a sleep loop, a
// sync.Mutex the body holds, a WaitGroup's Wait. Growth of RSS per
// goroutine once all have parked; then each is released.
func memParkedReal(n int) {
	runtime.GC()
	rss0 := vmRSS()
	jobs := make(chan string)
	quit := make(chan struct{})
	var mu sync.Mutex
	var gate, parked, exited sync.WaitGroup
	var stop atomic.Bool
	var total atomic.Int64
	gate.Add(1)
	parked.Add(n)
	exited.Add(n)
	mu.Lock()
	for i := 0; i < n; i++ {
		switch i % 5 {
		case 0: // a worker ranging over its jobs
			go func() {
				parked.Done()
				bytes := 0
				for job := range jobs {
					bytes += len(job)
				}
				total.Add(int64(bytes))
				exited.Done()
			}()
		case 1: // a worker selecting between jobs and quit
			go func() {
				parked.Done()
				bytes := 0
				for done := false; !done; {
					select {
					case job, ok := <-jobs:
						if ok {
							bytes += len(job)
						} else {
							done = true
						}
					case <-quit:
						done = true
					}
				}
				total.Add(int64(bytes))
				exited.Done()
			}()
		case 2: // a poller sleeping between checks
			go func() {
				parked.Done()
				rounds := 0
				for !stop.Load() {
					time.Sleep(time.Second)
					rounds++
				}
				total.Add(int64(rounds))
				exited.Done()
			}()
		case 3: // a counter under a mutex
			i := i
			go func() {
				parked.Done()
				mu.Lock()
				total.Add(int64(i))
				mu.Unlock()
				exited.Done()
			}()
		default: // waiting for a start signal
			go func() {
				parked.Done()
				gate.Wait()
				exited.Done()
			}()
		}
	}
	parked.Wait()
	time.Sleep(100 * time.Millisecond) // the last few reach their park
	rss1 := vmRSS()
	report("mem_parked_real_rss", float64(rss1-rss0)/float64(n), "bytes/goroutine")
	stop.Store(true)
	close(quit)
	close(jobs)
	mu.Unlock()
	gate.Done()
	exited.Wait()
}

func mutexContended(n int) {
	const G = 4
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	wg.Add(G)
	start := time.Now()
	for g := 0; g < G; g++ {
		go func() {
			for i := 0; i < n; i++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	if counter != G*n {
		fail("mutex_contended: lost increments")
	}
	report("mutex_contended", nsPer(start, G*n), "ns/lockunlock")
}

// primeSieve: generator plus one filter goroutine per prime, unbuffered
// channels; time to receive n primes. The goroutines are left blocked.
func primeSieve(n int) {
	start := time.Now()
	ch := make(chan int)
	go func(out chan<- int) {
		for i := 2; ; i++ {
			out <- i
		}
	}(ch)
	last := 0
	for i := 0; i < n; i++ {
		last = <-ch
		next := make(chan int)
		go func(in <-chan int, out chan<- int, p int) {
			for {
				if v := <-in; v%p != 0 {
					out <- v
				}
			}
		}(ch, next, last)
		ch = next
	}
	if n == 5000 && last != 48611 {
		fail("prime_sieve: wrong 5000th prime")
	}
	report("prime_sieve", msSince(start), "ms")
}

// plainThreads: csp's plain_threads has 4 plain threads ready goroutines
// at once. A Go program has no thread outside the scheduler; the nearest
// shape is 4 goroutines, each locked to its own OS thread, doing the same
// (they hold Ps, so Go's readies go to their local run queues, not to the
// global one: a reference point, not the same path).
func plainThreads(n int) {
	const threads = 4
	per := n / threads
	if per < 1 {
		per = 1
	}
	{
		var wg sync.WaitGroup
		wg.Add(per * threads)
		start := time.Now()
		var ts sync.WaitGroup
		ts.Add(threads)
		for t := 0; t < threads; t++ {
			go func() {
				runtime.LockOSThread()
				for i := 0; i < per; i++ {
					go wg.Done()
				}
				ts.Done()
			}()
		}
		ts.Wait()
		wg.Wait()
		report("plain_threads_spawn", nsPer(start, per*threads), "ns/goroutine")
	}
	{
		own := make([]chan int, per*threads)
		var started, ended sync.WaitGroup
		started.Add(len(own))
		ended.Add(len(own))
		for i := range own {
			c := make(chan int)
			own[i] = c
			go func() {
				started.Done()
				<-c
				ended.Done()
			}()
		}
		started.Wait()
		start := time.Now()
		var ts sync.WaitGroup
		ts.Add(threads)
		for t := 0; t < threads; t++ {
			t := t
			go func() {
				runtime.LockOSThread()
				for i := t * per; i < (t+1)*per; i++ {
					own[i] <- 1
				}
				ts.Done()
			}()
		}
		ts.Wait()
		ended.Wait()
		report("plain_threads_ready", nsPer(start, per*threads), "ns/goroutine")
	}
}

func wgFanout(n int) {
	const rounds = 100
	start := time.Now()
	for r := 0; r < rounds; r++ {
		res := make(chan int)
		var wg sync.WaitGroup
		wg.Add(n)
		for i := 0; i < n; i++ {
			go func(i int) {
				res <- i
				wg.Done()
			}(i)
		}
		go func() {
			wg.Wait()
			close(res)
		}()
		sum := 0
		for v := range res {
			sum += v
		}
		if sum != n*(n-1)/2 {
			fail("wg_fanout: bad sum")
		}
	}
	report("wg_fanout", nsPer(start, rounds*n), "ns/goroutine")
}

func skynetNode(c chan<- int, num, size, div int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	for i := 0; i < div; i++ {
		go skynetNode(rc, num+i*(size/div), size/div, div)
	}
	sum := 0
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynet(n int) {
	start := time.Now()
	c := make(chan int)
	go skynetNode(c, 0, n, 10)
	if got, want := <-c, n*(n-1)/2; got != want {
		fail("skynet: got %d, want %d", got, want)
	}
	report("skynet", msSince(start), "ms")
}

// contextSwitch: two goroutines take turns with runtime.Gosched().
func contextSwitch(n int) {
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	for g := 0; g < 2; g++ {
		go func() {
			for i := 0; i < n; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	report("context_switch", nsPer(start, 2*n), "ns/switch")
}

// udpPingpong: a one-byte datagram's round trip between a client on a
// connected UDP socket and a server in ReadFrom/WriteTo, over loopback.
func udpPingpong(n int) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fail("udp_pingpong: %v", err)
	}
	done := make(chan struct{})
	go func() {
		b := make([]byte, 1)
		for {
			m, from, err := pc.ReadFrom(b)
			if err != nil {
				break
			}
			if _, err := pc.WriteTo(b[:m], from); err != nil {
				break
			}
		}
		close(done)
	}()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		fail("udp_pingpong: %v", err)
	}
	b := make([]byte, 1)
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c.Write(b); err != nil {
			fail("udp_pingpong: %v", err)
		}
		if _, err := c.Read(b); err != nil {
			fail("udp_pingpong: %v", err)
		}
	}
	report("udp_pingpong", nsPer(start, n), "ns/roundtrip")
	c.Close()
	pc.Close()
	<-done
}

// unixPingpong: the same over a unix stream socket.
func unixPingpong(n int) {
	dir, err := os.MkdirTemp("", "go-bench-")
	if err != nil {
		fail("unix_pingpong: %v", err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "pingpong.sock"))
	if err != nil {
		fail("unix_pingpong: %v", err)
	}
	done := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err == nil {
			b := make([]byte, 1)
			for {
				if _, err := c.Read(b); err != nil {
					break
				}
				if _, err := c.Write(b); err != nil {
					break
				}
			}
			c.Close()
		}
		close(done)
	}()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		fail("unix_pingpong: %v", err)
	}
	b := make([]byte, 1)
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c.Write(b); err != nil {
			fail("unix_pingpong: %v", err)
		}
		if _, err := c.Read(b); err != nil {
			fail("unix_pingpong: %v", err)
		}
	}
	report("unix_pingpong", nsPer(start, n), "ns/roundtrip")
	c.Close()
	<-done
	ln.Close()
}

func cpuMs() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

// idleCPU: get every P running once, then sleep; CPU used while idle.
func idleCPU(seconds float64) {
	var wg sync.WaitGroup
	var arrived atomic.Int32
	wg.Add(procs)
	for i := 0; i < procs; i++ {
		go func() {
			arrived.Add(1)
			for deadline := time.Now().Add(200 * time.Millisecond); int(arrived.Load()) < procs && time.Now().Before(deadline); {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	time.Sleep(50 * time.Millisecond)
	before := cpuMs()
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	report("idle_cpu", cpuMs()-before, "ms_cpu")
}

func runOne(name string, w workload, arg string) {
	n := w.n
	if arg != "" {
		var err error
		if n, err = strconv.ParseFloat(arg, 64); err != nil || n <= 0 {
			fmt.Fprintln(os.Stderr, "go-peers: bad n:", arg)
			os.Exit(2)
		}
	}
	if name == "idle_cpu" {
		idleCPU(n)
		return
	}
	w.run(int(n))
}

func main() {
	names := make([]string, 0, len(workloads))
	for k := range workloads {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintf(os.Stderr, "usage: GOMAXPROCS=N %s <workload>|all [n]\nworkloads: %s\n", os.Args[0], strings.Join(names, " "))
		os.Exit(2)
	}
	arg := ""
	if len(os.Args) > 2 {
		arg = os.Args[2]
	}
	if os.Args[1] == "all" {
		for _, name := range names {
			a := arg
			if name == "idle_cpu" {
				a = "" // seconds, not a size: keep the default
			}
			runOne(name, workloads[name], a)
		}
		return
	}
	w, ok := workloads[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "go-peers: unknown workload %q\n", os.Args[1])
		os.Exit(2)
	}
	runOne(os.Args[1], w, arg)
}

// Program shapes of ported Go programs; csp runs these on its plain main
// thread (doubleselect in a goroutine), Go in its main goroutine.

// peakRSSMiB reads VmHWM from /proc/self/status, in MiB.
func peakRSSMiB() float64 { return float64(statusKiB("VmHWM:")) / 1024 }

func minorFaults() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}

func daisyChain(n int) {
	faults0 := minorFaults()
	start := time.Now()
	leftmost := make(chan int)
	right, left := leftmost, leftmost
	for i := 0; i < n; i++ {
		right = make(chan int)
		go func(l chan<- int, r <-chan int) { l <- 1 + <-r }(left, right)
		left = right
	}
	go func(c chan<- int) { c <- 1 }(right)
	if <-leftmost != n+1 {
		fail("daisy_chain: wrong sum")
	}
	report("daisy_chain", nsPer(start, n), "ns/link")
	report("daisy_chain_rss", peakRSSMiB(), "MiB")
	report("daisy_chain_faults", float64(minorFaults()-faults0), "faults")
}

func mainRecv(n int) {
	for _, capacity := range []int{0, 128} {
		ch := make(chan int, capacity)
		const producers = 4
		var wg sync.WaitGroup
		wg.Add(producers)
		start := time.Now()
		for p := 0; p < producers; p++ {
			go func() {
				for i := 0; i < n/producers; i++ {
					ch <- i
				}
				wg.Done()
			}()
		}
		go func() {
			wg.Wait()
			close(ch)
		}()
		sum, got := 0, 0
		for v := range ch {
			sum += v
			got++
		}
		if got != n/producers*producers {
			fail("main_recv: lost items")
		}
		name := "main_recv_buffered"
		if capacity == 0 {
			name = "main_recv_unbuffered"
		}
		report(name, nsPer(start, got), "ns/item")
	}
}

func spawnFromMain(n int) {
	faults0 := minorFaults()
	start := time.Now()
	shared := make(chan struct{})
	own := make([]chan int, n)
	var started, ended sync.WaitGroup
	started.Add(n)
	ended.Add(n)
	for i := 0; i < n; i++ {
		c := make(chan int)
		own[i] = c
		switch i % 3 {
		case 0:
			go func() {
				started.Done()
				<-c
				ended.Done()
			}()
		case 1:
			go func() {
				started.Done()
				<-shared
				ended.Done()
			}()
		default:
			go func() {
				started.Done()
				select {
				case <-c:
				case <-time.After(time.Hour):
				}
				ended.Done()
			}()
		}
	}
	started.Wait()
	for i := 0; i < n; i++ {
		if i%3 != 1 {
			own[i] <- 1
		}
	}
	close(shared)
	ended.Wait()
	report("spawn_from_main", msSince(start), "ms")
	report("spawn_from_main_rss", peakRSSMiB(), "MiB")
	report("spawn_from_main_faults", float64(minorFaults()-faults0), "faults")
}

func doubleSelect(name string) func(n int) {
	return func(n int) {
		c1, c2, c3, c4 := make(chan int), make(chan int), make(chan int), make(chan int)
		done := make(chan bool)
		cmux := make(chan int)
		start := time.Now()
		go func() {
			for i := 0; i < n; i++ {
				select {
				case c1 <- i:
				case c2 <- i:
				case c3 <- i:
				case c4 <- i:
				}
			}
			close(c1)
			close(c2)
			close(c3)
			close(c4)
		}()
		for _, c := range []chan int{c1, c2, c3, c4} {
			go func(in <-chan int) {
				for v := range in {
					cmux <- v
				}
				done <- true
			}(c)
		}
		go func() {
			for i := 0; i < 4; i++ {
				<-done
			}
			close(cmux)
		}()
		seen := make([]bool, n)
		for v := range cmux {
			if seen[v] {
				fail("doubleselect: duplicate value")
			}
			seen[v] = true
		}
		report(name, nsPer(start, n), "ns/item")
	}
}
