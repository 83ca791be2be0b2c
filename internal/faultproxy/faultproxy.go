// Package faultproxy is a TCP forwarder for tests that puts faults between a
// client and its server (a database, most often): it passes traffic, refuses
// new connections, hangs, slows every chunk down or cuts live connections,
// switched at run time without the client noticing anything but the fault.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Mode is how the proxy treats connections.
type Mode int

const (
	// Pass forwards everything at once.
	Pass Mode = iota
	// Refuse closes the listening socket, so new connections are refused
	// (ECONNREFUSED), and cuts the live ones: a stopped server.
	Refuse
	// Hang accepts new connections but forwards nothing in either direction
	// on any connection until the mode changes: a server or network that
	// stopped answering. Held bytes flow again once it passes.
	Hang
	// Slow forwards every chunk after the delay given to SetSlow.
	Slow
)

func (m Mode) String() string {
	return [...]string{"pass", "refuse", "hang", "slow"}[m]
}

// Proxy forwards connections on a loopback address to a target.
type Proxy struct {
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener // nil while refusing
	mode    Mode
	delay   time.Duration
	changed chan struct{} // closed and replaced on every change of mode
	links   map[*link]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// link is one client connection and its connection to the target.
type link struct {
	client net.Conn
	dead   chan struct{} // closed by close: wakes a gate holding the link
	mu     sync.Mutex
	server net.Conn // nil until dialled
	ended  bool
}

func (l *link) close() {
	l.client.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.server != nil {
		l.server.Close()
	}
	if !l.ended {
		l.ended = true
		close(l.dead)
	}
}

// Start listens on 127.0.0.1 (a free port) and forwards to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), changed: make(chan struct{}), links: map[*link]struct{}{}}
	p.serve(ln)
	return p, nil
}

// Addr is the address clients connect to; it stays the same across modes.
func (p *Proxy) Addr() string { return p.addr }

// Mode is the current mode.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Set switches the mode. Leaving Refuse listens again on the same address.
func (p *Proxy) Set(m Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("faultproxy: closed")
	}
	if m == p.mode {
		return nil
	}
	switch {
	case m == Refuse:
		p.ln.Close()
		p.ln = nil
		p.cutLocked()
	case p.mode == Refuse:
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return err
		}
		p.serve(ln)
	}
	p.mode = m
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

// SetSlow switches to Slow with delay added before every forwarded chunk.
func (p *Proxy) SetSlow(delay time.Duration) error {
	p.mu.Lock()
	p.delay = delay
	p.mu.Unlock()
	return p.Set(Slow)
}

// CutLive closes every live connection mid-stream, both sides; new ones
// are served as the mode says.
func (p *Proxy) CutLive() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked()
}

func (p *Proxy) cutLocked() {
	for l := range p.links {
		l.close()
	}
}

// Close stops listening, cuts every connection and waits for them to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
	}
	p.cutLocked()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// serve accepts on ln until it is closed; the caller holds mu or owns p.
func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l := &link{client: c, dead: make(chan struct{})}
			p.mu.Lock()
			if p.closed || p.ln != ln {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.links[l] = struct{}{}
			p.wg.Add(1)
			p.mu.Unlock()
			go p.forward(l)
		}
	}()
}

// forward dials the target once the mode lets bytes through, then copies
// both ways until either side ends or the link is cut.
func (p *Proxy) forward(l *link) {
	defer p.wg.Done()
	defer func() {
		l.close()
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	if !p.gate(l) {
		return
	}
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	l.mu.Lock()
	l.server = s
	ended := l.ended
	l.mu.Unlock()
	if ended {
		s.Close()
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pump(l, s, l.client); done <- struct{}{} }()
	go func() { p.pump(l, l.client, s); done <- struct{}{} }()
	<-done
	l.close()
	<-done
}

// pump copies src to dst chunk by chunk, each chunk waiting for the gate.
func (p *Proxy) pump(l *link, dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.gate(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// gate blocks while the mode holds bytes back and applies Slow's delay;
// false when the link was cut or the proxy closed meanwhile.
func (p *Proxy) gate(l *link) bool {
	for {
		p.mu.Lock()
		mode, delay, changed, closed := p.mode, p.delay, p.changed, p.closed
		p.mu.Unlock()
		if closed || mode == Refuse {
			return false
		}
		select {
		case <-l.dead:
			return false
		default:
		}
		switch mode {
		case Pass:
			return true
		case Slow:
			t := time.NewTimer(delay)
			select {
			case <-t.C:
				return true
			case <-changed:
			case <-l.dead:
			}
			t.Stop()
		case Hang:
			select {
			case <-changed:
			case <-l.dead:
			}
		}
	}
}
