package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the simulations of many nodes on one server share: their settings,
// and what they measure of the server.

// SimSetting reads a whole-number setting of a simulation from the
// environment, def when it is unset.
func SimSetting(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// SimNodeCounts reads SUBGATE_SIM_NODES: one node count, or several
// separated by commas, run one after another on the same sub-users.
func SimNodeCounts(t testing.TB, def int) []int {
	t.Helper()
	v := os.Getenv("SUBGATE_SIM_NODES")
	if v == "" {
		return []int{def}
	}
	var counts []int
	for f := range strings.SplitSeq(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("SUBGATE_SIM_NODES=%q: want node counts separated by commas", v)
		}
		counts = append(counts, n)
	}
	return counts
}

// SimApp names a simulated installation's connections on the server
// (SimApp for pooled ones, SimApp + "-listen" for LISTEN sessions), so they
// can be counted apart from everything else using it.
const SimApp = "subgate-sim"

// WithApp is URL u with the application name set.
func WithApp(t testing.TB, u, app string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	q.Set("application_name", app)
	p.RawQuery = q.Encode()
	return p.String()
}

// Conns is the most client connections seen on the server while Sample ran.
type Conns struct {
	Installation, Listening, All atomic.Int64
}

// Sample counts the server's client connections every half second until
// ctx ends: the simulated installation's (SimApp…), its LISTEN sessions
// and everyone's. It holds one connection of its own.
func (c *Conns) Sample(ctx context.Context, t testing.TB) {
	conn, err := pgx.Connect(ctx, BaseURL())
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		var mine, listening, all int64
		err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE application_name LIKE $1 || '%'),
			count(*) FILTER (WHERE application_name = $1 || '-listen'), count(*)
			FROM pg_stat_activity WHERE backend_type = 'client backend'`, SimApp).Scan(&mine, &listening, &all)
		if err != nil {
			if ctx.Err() == nil {
				t.Error(err)
			}
			return
		}
		c.Installation.Store(max(c.Installation.Load(), mine))
		c.Listening.Store(max(c.Listening.Load(), listening))
		c.All.Store(max(c.All.Load(), all))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// CPUTicks is the CPU time (user + system, in clock ticks) of processes by pid.
type CPUTicks map[int]int64

// ServerCPU reads the CPU time of the test server's processes, or nil when
// the server is not on this machine.
func ServerCPU() CPUTicks {
	u, err := url.Parse(BaseURL())
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	ticks := CPUTicks{}
	for _, f := range stats {
		pid, used, comm, ok := readProcStat(f)
		if ok && comm == "postgres" {
			ticks[pid] = used
		}
	}
	if len(ticks) == 0 {
		return nil
	}
	return ticks
}

// ProcessCPU reads the CPU time of one process, or nil for pid 0.
func ProcessCPU(pid int) CPUTicks {
	if pid == 0 {
		return nil
	}
	if _, used, _, ok := readProcStat(fmt.Sprintf("/proc/%d/stat", pid)); ok {
		return CPUTicks{pid: used}
	}
	return nil
}

// readProcStat reads a /proc/PID/stat file: utime + stime, and the command.
func readProcStat(path string) (pid int, used int64, comm string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, "", false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return 0, 0, "", false
	}
	pid, _ = strconv.Atoi(strings.TrimSpace(s[:open]))
	comm = s[open+1 : end]
	// Fields after the command, from the state (field 3): utime and stime
	// are fields 14 and 15.
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0, 0, "", false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return pid, ut + st, comm, true
}

// clockTicks is the kernel's USER_HZ, the unit of /proc CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// Cores is the CPU used between two readings as cores busy, in total and
// per node, or "n/a" without readings; processes that ended in between are
// not counted.
func Cores(before, after CPUTicks, secs float64, nodes int) string {
	if before == nil || after == nil {
		return "n/a"
	}
	var used int64
	for pid, v := range after {
		used += v - before[pid]
	}
	cores := float64(used) / clockTicks / secs
	return fmt.Sprintf("%.2f cores (%.3f per node)", cores, cores/float64(nodes))
}

// Percentile is the p-th percentile of ds, rounded to 0.1 ms.
func Percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(100 * time.Microsecond)
}
