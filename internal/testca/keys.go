package testca

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// PoolSize is the number of pool keys Issue cycles through: the first
// PoolSize cards issued in a process get distinct keys, later ones reuse
// them (distinct certificates may then share a key).
const PoolSize = 64

// cardKeys is the pool behind Key; caKeys gives every CA its own key, never
// shared with a card or another CA.
var (
	cardKeys = &keyPool{bits: 2048, block: PoolSize}
	caKeys   = &keyPool{bits: 2048, block: 8}
)

// Key returns the i-th key of the process-wide pool of RSA-2048 test keys
// (i >= 0). Keys are generated on first use and cached: Key(i) always
// returns the same key, and distinct indexes give distinct keys. When Key
// has to generate, it also starts generating the next few keys in the
// background, one per spare CPU. Safe for concurrent use.
func Key(i int) *rsa.PrivateKey {
	if i < 0 {
		panic(fmt.Sprintf("testca: Key(%d): negative index", i))
	}
	return cardKeys.get(i)
}

// Prefetch generates pool keys 0..n-1 on all CPUs and returns when they
// are ready. Benchmarks call it so key generation stays out of the timings.
func Prefetch(n int) {
	cardKeys.fill(n)
}

// keyPool lazily generates and caches RSA keys by index.
type keyPool struct {
	bits  int
	block int // read-ahead never crosses a multiple of block

	mu    sync.Mutex
	slots []*keySlot
}

type keySlot struct {
	claimed atomic.Bool   // someone is generating (or has generated) the key
	done    chan struct{} // closed when key is set
	key     *rsa.PrivateKey
}

func (p *keyPool) slot(i int) *keySlot {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.slots) <= i {
		p.slots = append(p.slots, &keySlot{done: make(chan struct{})})
	}
	return p.slots[i]
}

// generate makes the key of s unless another goroutine already claimed it.
func (s *keySlot) generate(bits int) {
	if !s.claimed.CompareAndSwap(false, true) {
		return
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic("testca: generating RSA key: " + err.Error())
	}
	s.key = k
	close(s.done)
}

func (p *keyPool) get(i int) *rsa.PrivateKey {
	s := p.slot(i)
	select {
	case <-s.done:
		return s.key
	default:
	}
	// Read ahead on the spare CPUs, up to the end of i's block.
	end := min(i+runtime.GOMAXPROCS(0), (i/p.block+1)*p.block)
	for j := i + 1; j < end; j++ {
		if t := p.slot(j); !t.claimed.Load() {
			go t.generate(p.bits)
		}
	}
	s.generate(p.bits) // in this goroutine, unless already under way
	<-s.done
	return s.key
}

// fill makes keys 0..n-1 ready, generating on GOMAXPROCS goroutines.
func (p *keyPool) fill(n int) {
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= n {
					return
				}
				p.slot(j).generate(p.bits)
			}
		})
	}
	wg.Wait()
	for j := range n {
		<-p.slot(j).done // some may have been claimed by other goroutines
	}
}
