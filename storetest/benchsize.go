package storetest

import (
	"os"
	"strconv"
	"testing"
)

// BenchSubUsersEnv names the environment variable that sets how many
// sub-users the list benchmarks load; small by default so that a plain
// -bench run stays quick.
const BenchSubUsersEnv = "SUBGATE_BENCH_SUBUSERS"

// BenchSubUsers is the size of the list benchmarks' data set.
func BenchSubUsers(tb testing.TB) int {
	v := os.Getenv(BenchSubUsersEnv)
	if v == "" {
		return 20_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1000 {
		tb.Fatalf("%s=%q: want a whole number of at least 1000", BenchSubUsersEnv, v)
	}
	return n
}
