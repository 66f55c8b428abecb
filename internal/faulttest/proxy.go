package faulttest

import (
	"errors"
	"io"
	"net"
	"sync"
)

// Proxy forwards TCP connections from a loopback address to a target. Its
// faults act on the connections it holds at the time; connections made
// afterwards are forwarded normally, as after a failover.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns map[*pair]struct{}
	wg    sync.WaitGroup
}

// pair is one client connection and its connection to the target.
type pair struct {
	client, server net.Conn
	frozen         chan struct{} // closed when the pair stops forwarding
	once           sync.Once
}

// NewProxy listens on a free loopback port and forwards to target
// (host:port).
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[*pair]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port to connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		pr := &pair{client: c, server: s, frozen: make(chan struct{})}
		p.mu.Lock()
		p.conns[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.copy(pr, s, c)
		go p.copy(pr, c, s)
	}
}

// copy forwards src to dst until either side fails or the pair is frozen.
// A frozen pair reads on but forwards nothing and never closes, so neither
// end learns that the path is gone.
func (p *Proxy) copy(pr *pair, dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case <-pr.frozen:
			default:
				if _, werr := dst.Write(buf[:n]); werr != nil {
					err = werr
				}
			}
		}
		if err != nil {
			select {
			case <-pr.frozen:
				if !errors.Is(err, net.ErrClosed) && err != io.EOF {
					continue
				}
			default:
			}
			pr.close()
			p.mu.Lock()
			delete(p.conns, pr)
			p.mu.Unlock()
			return
		}
	}
}

func (pr *pair) close() {
	_ = pr.client.Close()
	_ = pr.server.Close()
}

// Freeze stops forwarding on every connection open now, in both
// directions, without closing any: each end waits for answers that never
// come, as over a path a network or a failover silently dropped.
func (p *Proxy) Freeze() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.conns {
		pr.once.Do(func() { close(pr.frozen) })
	}
	return len(p.conns)
}

// Reset closes every connection open now, as a database restart does.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pr := range p.conns {
		pr.close()
	}
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.Reset()
	p.mu.Lock()
	for pr := range p.conns {
		pr.close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
