// crawler: a concurrent crawler over an in-memory web, written for csp's
// porting guide (docs/porting.md); examples/crawler.cpp is its C++ port.
package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

type page struct {
	title string
	links []string
}

// web is the fake internet. "/gone" is missing; "/slow" never answers.
var web = map[string]page{
	"/":       {"home", []string{"/about", "/blog", "/slow"}},
	"/about":  {"about us", []string{"/", "/team", "/gone"}},
	"/blog":   {"the blog", []string{"/blog/1", "/blog/2", "/about"}},
	"/blog/1": {"first post", []string{"/blog/2"}},
	"/blog/2": {"second post", []string{"/blog/1", "/team"}},
	"/team":   {"the team", nil},
	"/slow":   {"never seen", nil},
}

var errNotFound = errors.New("not found")

// fetch returns the page at url after a short delay, or an error.
func fetch(ctx context.Context, url string) (page, error) {
	if url == "/slow" {
		select {
		case <-time.After(time.Hour):
		case <-ctx.Done():
			return page{}, ctx.Err()
		}
	}
	time.Sleep(time.Millisecond)
	p, ok := web[url]
	if !ok {
		return page{}, errNotFound
	}
	return p, nil
}

type result struct {
	url, line string
}

type crawler struct {
	mu      sync.Mutex
	seen    map[string]bool // guarded by mu
	wg      sync.WaitGroup
	fetches chan struct{} // a semaphore: at most cap(fetches) at once
	results chan<- result
	timeout time.Duration
}

// firstVisit reports whether url has not been seen yet, and marks it seen.
func (c *crawler) firstVisit(url string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[url] {
		return false
	}
	c.seen[url] = true
	return true
}

// crawl fetches url, reports it, and crawls its links in new goroutines.
func (c *crawler) crawl(ctx context.Context, url string) {
	defer c.wg.Done()
	if !c.firstVisit(url) {
		return
	}
	c.fetches <- struct{}{}
	fctx, cancel := context.WithTimeout(ctx, c.timeout)
	p, err := fetch(fctx, url)
	cancel()
	<-c.fetches
	if err != nil {
		c.results <- result{url, "error: " + err.Error()}
		return
	}
	c.results <- result{url, fmt.Sprintf("%q, links: %d", p.title, len(p.links))}
	for _, link := range p.links {
		c.wg.Add(1)
		go c.crawl(ctx, link)
	}
}

func main() {
	results := make(chan result)
	c := &crawler{
		seen:    map[string]bool{},
		fetches: make(chan struct{}, 2),
		results: results,
		timeout: 100 * time.Millisecond,
	}
	c.wg.Add(1)
	go c.crawl(context.Background(), "/")
	go func() {
		c.wg.Wait()
		close(results)
	}()

	var all []result
	for r := range results {
		all = append(all, r)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].url < all[j].url })
	for _, r := range all {
		fmt.Printf("%-8s %s\n", r.url, r.line)
	}
	fmt.Printf("%d pages\n", len(all))
}
