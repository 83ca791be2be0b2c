package postgres_test

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

	"github.com/subgate/subgate/internal/pgtest"
)

// simConns is the most connections seen on the server during a run.
type simConns struct {
	nodes, listening, all atomic.Int64
}

// sample counts the server's connections every half second until ctx ends:
// the simulated installation's (named simApp…) and everyone's.
func (c *simConns) sample(ctx context.Context, t *testing.T) {
	conn, err := pgx.Connect(ctx, pgtest.BaseURL())
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		var nodes, listening, all int64
		err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE application_name LIKE $1 || '%'),
			count(*) FILTER (WHERE application_name = $1 || '-listen'), count(*)
			FROM pg_stat_activity WHERE backend_type = 'client backend'`, simApp).Scan(&nodes, &listening, &all)
		if err != nil {
			if ctx.Err() == nil {
				t.Error(err)
			}
			return
		}
		c.nodes.Store(max(c.nodes.Load(), nodes))
		c.listening.Store(max(c.listening.Load(), listening))
		c.all.Store(max(c.all.Load(), all))
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// cpuTicks is the CPU time (user + system, in clock ticks) of processes by pid.
type cpuTicks map[int]int64

// postgresCPU reads the CPU time of the local PostgreSQL server's
// processes, or nil when the test server is not on this machine.
func postgresCPU() cpuTicks {
	u, err := url.Parse(pgtest.BaseURL())
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	ticks := cpuTicks{}
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

// processCPU reads the CPU time of one process, or nil for pid 0.
func processCPU(pid int) cpuTicks {
	if pid == 0 {
		return nil
	}
	if _, used, _, ok := readProcStat(fmt.Sprintf("/proc/%d/stat", pid)); ok {
		return cpuTicks{pid: used}
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

// cpuCores is the CPU used between two readings as cores busy, in total and
// per node; processes that ended in between are not counted.
func cpuCores(before, after cpuTicks, secs float64, nodes int) string {
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

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(100 * time.Microsecond)
}
