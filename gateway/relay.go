package gateway

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// The copy loop is hand-written because metering lives inside it: each step
// reserves n bytes, copies at most n, then settles. Between two *net.TCPConn
// a step is dst.ReadFrom(&io.LimitedReader{R: src, N: n}), which Linux
// serves with splice(2) — the bytes never enter user space — and the conns
// are never wrapped in counting types, which would lose that path.

const (
	// stepFloor is the smallest step: the first after a pause, and every
	// step near the end of a budget.
	stepFloor = 16 << 10
	// stepMax bounds one step (and so a reservation) while data flows fast.
	stepMax = 1 << 20
	// A step that completes within fastStep lets the next one grow; no step
	// waits longer than stepTime before its bytes are settled.
	fastStep = 50 * time.Millisecond
	stepTime = 100 * time.Millisecond
)

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// tunnel relays both directions between client and upstream until both are
// done or the session is cut. The calling goroutine carries the download;
// the upload gets its own.
func (s *session) tunnel(client, upstream net.Conn) {
	done := make(chan struct{})
	var grace *time.Timer
	var once sync.Once
	halfClosed := func() { // one side finished: the other gets a grace period
		once.Do(func() { grace = time.AfterFunc(halfCloseGrace, func() { closeBoth(client, upstream) }) })
	}
	go func() {
		defer close(done)
		if err := s.pipe(upstream, client, true); err != nil {
			closeBoth(client, upstream)
			return
		}
		closeWrite(upstream)
		halfClosed()
	}()
	if err := s.pipe(client, upstream, false); err != nil {
		closeBoth(client, upstream)
	} else {
		closeWrite(client)
		halfClosed()
	}
	<-done
	once.Do(func() {})
	if grace != nil {
		grace.Stop()
	}
	closeBoth(client, upstream)
}

// halfCloseGrace bounds how long a tunnel stays open after one side has
// finished sending.
const halfCloseGrace = time.Minute

// pipe copies src to dst in metered steps until EOF (nil), an error, or a
// refusal (the session is then cut). up says the bytes go client → target.
//
// A step runs with a read deadline (stepTime), so bytes copied by a step
// that waits on a slow or pausing peer are settled, and become visible,
// promptly. A step that copies nothing before its deadline puts the
// direction to sleep: it waits, without a deadline and without a
// reservation, until src is readable (or, where that is not possible,
// reserves and copies a single byte), so an idle connection holds nothing
// and costs no wakeups.
func (s *session) pipe(dst, src net.Conn, up bool) error {
	a := s.acct
	a.dirs.Add(1)
	defer a.dirs.Add(-1)
	step := int64(stepFloor)
	idle := true // until the first byte: most directions of a tunnel start quiet
	var one [1]byte
	var lr *io.LimitedReader // one per direction, once it carries data
	var unreported int64     // bytes not yet in the Prometheus counters
	defer func() { s.report(unreported, up) }()
	for {
		if idle {
			src.SetReadDeadline(time.Time{})
			if ok, err := waitReadable(src); ok {
				if err != nil {
					return err
				}
				idle = false
			}
		}
		want := int64(1)
		if !idle {
			want = s.shareOfEnd(step)
		}
		b, n, r := s.reserve(want)
		if r != nil {
			s.cut(r.Code)
			return r
		}
		start := time.Now()
		if idle {
			src.SetReadDeadline(time.Time{})
		} else {
			src.SetReadDeadline(start.Add(stepTime))
		}
		var copied int64
		var err error
		if idle {
			copied, err = copyOne(dst, src, &one)
		} else {
			if lr == nil {
				lr = &io.LimitedReader{R: src}
			}
			lr.N = n
			copied, err = copyStep(dst, lr)
		}
		s.settle(b, n, copied)
		s.count(copied, up)
		if unreported += copied; unreported >= reportEvery {
			s.report(unreported, up)
			unreported = 0
		}
		timedOut := err != nil && errors.Is(err, os.ErrDeadlineExceeded)
		switch {
		case timedOut && copied == 0:
			s.report(unreported, up) // going quiet: the counters catch up
			unreported = 0
			idle = true
			continue
		case timedOut:
			step = max(step/2, stepFloor)
			idle = false
			continue
		case err != nil:
			return err
		case copied < n:
			return nil // EOF
		}
		if !idle && time.Since(start) < fastStep {
			step = min(step*2, stepMax)
		}
		idle = false
	}
}

// shareOfEnd shrinks a step as the local lease runs low, dividing what is
// left among the sub-user's running copy directions, so that one direction
// cannot starve the others at the end of a budget.
func (s *session) shareOfEnd(step int64) int64 {
	var left int64
	for _, b := range s.chain {
		left += b.avail.Load()
	}
	dirs := max(s.acct.dirs.Load(), 1)
	return max(min(step, left/(2*dirs)), stepFloor)
}

// reportEvery bounds how far the Prometheus byte counters lag behind a
// busy direction: they are shared by every connection, so a copy step adds
// to its session's counters only.
const reportEvery = 4 << 20

// count adds n copied bytes to the session's counters.
func (s *session) count(n int64, up bool) {
	if up {
		s.up.Add(n)
	} else {
		s.down.Add(n)
	}
}

// report adds n bytes to the gateway's Prometheus counters.
func (s *session) report(n int64, up bool) {
	if n == 0 {
		return
	}
	if up {
		s.g.metrics.bytesUp.Add(float64(n))
	} else {
		s.g.metrics.bytesDown.Add(float64(n))
	}
}

// copyStep copies at most lr.N bytes from lr.R to dst: by splice between
// TCP conns, through a pooled buffer otherwise.
func copyStep(dst net.Conn, lr *io.LimitedReader) (int64, error) {
	if d, ok := dst.(*net.TCPConn); ok {
		if _, ok := lr.R.(*net.TCPConn); ok {
			return d.ReadFrom(lr)
		}
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(writerOnly{dst}, lr, *bp)
}

// copyOne waits for one byte without splice, so an idle direction holds no
// pipe (two file descriptors) while it waits.
func copyOne(dst, src net.Conn, one *[1]byte) (int64, error) {
	n, err := src.Read(one[:])
	if n == 0 {
		if err == io.EOF {
			return 0, nil
		}
		return 0, err
	}
	if _, werr := dst.Write(one[:n]); werr != nil {
		return 0, werr
	}
	return int64(n), nil
}

// writerOnly hides ReadFrom so io.CopyBuffer uses the pooled buffer.
type writerOnly struct{ io.Writer }

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	c.Close()
}

func closeBoth(a, b net.Conn) {
	a.Close()
	b.Close()
}

// writeMetered writes p to w in reserved steps, for bytes the gateway holds
// in memory (HTTP requests and responses, bytes buffered before a tunnel).
func (s *session) writeMetered(w io.Writer, p []byte, up bool) (int, error) {
	written := 0
	for len(p) > 0 {
		b, n, r := s.reserve(min(int64(len(p)), stepMax))
		if r != nil {
			s.cut(r.Code)
			return written, r
		}
		k, err := w.Write(p[:n])
		s.settle(b, n, int64(k))
		s.count(int64(k), up)
		s.report(int64(k), up)
		written += k
		p = p[k:]
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// meteredWriter is an io.Writer that meters through writeMetered.
type meteredWriter struct {
	s  *session
	w  io.Writer
	up bool
}

func (m *meteredWriter) Write(p []byte) (int, error) { return m.s.writeMetered(m.w, p, m.up) }
